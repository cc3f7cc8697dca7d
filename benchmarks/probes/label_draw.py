"""The labeled examples of two classes as each seed draws them (Table 2's class-balanced draw).

    python benchmarks/probes/label_draw.py --data-dir ../shared/data [--classes 4 9] [--seeds 0 1 2]
        [--n-labeled 100] [-o label_draw.png]

Draws the labeled training images of each class, one row per (seed, class), in the order the
draw keeps them: what a semi-supervised run of that seed learns its classes from.
"""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from aae.data import load_splits  # noqa: E402
from aae.data.splits import as_float  # noqa: E402
from aae.errors import AAEError, exit_on_error  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--classes", type=int, nargs="+", default=[4, 9])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--n-labeled", type=int, default=100)
    ap.add_argument("-o", "--out", default="label_draw.png")
    args = ap.parse_args()
    rows = []
    for seed in args.seeds:
        try:
            s = load_splits("mnist", args.data_dir, 10000, args.n_labeled, seed)
        except AAEError as e:
            exit_on_error(str(e))
        for c in args.classes:
            if not 0 <= c < 10:
                exit_on_error(f"--classes: MNIST has classes 0-9, got {c}")
            rows.append((f"seed {seed}\nlabel {c}", as_float(s.x_train[s.y_train == c]).reshape(-1, 28, 28)))
    per = max(len(x) for _, x in rows)
    fig, axes = plt.subplots(len(rows), per, figsize=(per, 1.05 * len(rows)), squeeze=False)
    for r, (name, x) in enumerate(rows):
        for j, ax in enumerate(axes[r]):
            if j < len(x):
                ax.imshow(x[j], cmap="gray_r")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(name, fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out, dpi=70)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
