"""The labeled examples of two classes as each seed draws them (Table 2's class-balanced draw).

    python benchmarks/probes/label_draw.py --data-dir ../shared/data [--classes 4 9] [--seeds 0 1 2]
        [--n-labeled 100] [-o label_draw.png]

Draws the labeled training images of each class, one row per (seed, class), in the order the
draw keeps them: what a semi-supervised run of that seed learns its classes from.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from aae.data import load_splits
from aae.data.splits import as_float
from aae.errors import AAEError, exit_on_error
from aae.runs.plots import save_image_grid


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--classes", type=int, nargs="+", default=[4, 9])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--n-labeled", type=int, default=100)
    ap.add_argument("-o", "--out", type=Path, default=Path("label_draw.png"))
    args = ap.parse_args()
    bad = [c for c in args.classes if not 0 <= c < 10]
    if bad:
        exit_on_error(f"--classes: MNIST has classes 0-9, got {bad}")
    rows, names = [], []
    for seed in args.seeds:
        try:
            s = load_splits("mnist", args.data_dir, 10000, args.n_labeled, seed)
        except AAEError as e:
            exit_on_error(str(e))
        for c in args.classes:
            rows.append(as_float(s.x_train[s.y_train == c]).reshape(-1, 28 * 28))
            names.append(f"seed {seed}, label {c}")
    # the draw is class-balanced: every row holds n_labeled / 10 images
    save_image_grid(
        args.out, torch.cat(rows).numpy(), len(rows), len(rows[0]), (28, 28),
        title=f"Labeled examples per seed ({args.n_labeled} labels)", row_labels=names, row_groups=len(args.classes),
    )  # fmt: skip
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
