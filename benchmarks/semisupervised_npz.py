"""The 100-label semi-supervised preset on image data it was not tuned on, given as a user's own
``.npz``, against scikit-learn's LabelSpreading and LogisticRegression on the same split.

    OMP_NUM_THREADS=1 python benchmarks/semisupervised_npz.py --data-dir ../shared/data [--seeds 0 1 2]
        [--images 10000] [--preset mnist-semisupervised-100] [--epochs N] [--precision auto]

The file: ``--images`` Fashion-MNIST training images (a fixed random subset, uint8 28x28) and
their labels, written as ``<runs>/fashion-<images>.npz`` with arrays ``x`` and ``y``, as a user
would. ``aae`` splits it 80/10/10 in file order and keeps 100 training labels, class-balanced,
drawn by the seed; for each seed the preset trains with one command (recorded):

    aae train mnist-semisupervised-100 --set data.dataset=FILE.npz --seed S --set threads=1 ...

The baselines see exactly that split (``aae.data.load_splits`` with the same file, labels and
seed): ``LabelSpreading`` with scikit-learn's two kernels at their defaults (knn with 7 neighbours,
rbf with gamma 20) and a tuned rbf (gamma 1/(d * variance), the "scale" heuristic), on all training
images with the 100 labels; ``LogisticRegression`` on the 100 labelled images alone. Test error
(percent) on the file's last 10 %. Writes ``<results>/semisupervised_npz.json`` and ``.md``
(``--results`` defaults to ``results/semisupervised_npz``; a preset other than the default gets
``semisupervised_npz-<preset>.json`` and ``.md``). A finished run is reused.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import sklearn
import torch
from reproduce import git_commit  # benchmarks/ is on the path of a script run from it
from sklearn.linear_model import LogisticRegression
from sklearn.semi_supervised import LabelSpreading

from aae.data import load_splits

ROOT = Path(__file__).resolve().parents[1]


def write_npz(data_dir: str | None, images: int, path: Path) -> None:
    """``images`` Fashion-MNIST training images (a fixed subset) as a user's file: x uint8 (n, 28, 28), y int64."""
    splits = load_splits("fashion-mnist", data_dir, validation=0)
    pick = torch.randperm(len(splits.x_train), generator=torch.Generator().manual_seed(12345))[:images]
    x = (splits.x_train[pick] * 255).round().to(torch.uint8).reshape(-1, 28, 28).numpy()
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, x=x, y=splits.y_train[pick].numpy())


def train_aae(npz: Path, seed: int, args) -> tuple[dict, str]:
    out = args.runs / (f"{args.preset}-s{seed}" + (f"-e{args.epochs}" if args.epochs else ""))
    cmd = ["aae", "train", args.preset, "--set", f"data.dataset={npz}", "--seed", str(seed), "--out", str(out)]
    cmd += ["--set", "data.split=file-order"]  # the file is a random draw already: the split it was measured on
    cmd += ["--quiet", "--set", f"threads={args.threads}", "--set", f"precision={args.precision}"]
    if args.epochs:
        cmd += ["--epochs", str(args.epochs)]
    if not (out / "summary.json").is_file():
        print(" ".join(cmd), flush=True)
        subprocess.run([sys.executable, "-m", *cmd, "--overwrite"], check=True)
    return json.loads((out / "summary.json").read_text()), " ".join(cmd)


def baselines(npz: Path, seed: int) -> dict[str, float]:
    """Test error (percent) of scikit-learn's methods on the split ``aae train`` uses for ``seed``."""
    s = load_splits(str(npz), n_labeled=100, seed=seed, split="file-order")
    x, y = s.x_train.numpy(), s.y_train.numpy()
    x_test, y_test = s.x_test.numpy(), s.y_test.numpy()
    labeled = y >= 0
    scale = 1.0 / (x.shape[1] * x.var())
    methods = {
        "LogisticRegression (100 labels only)": (LogisticRegression(max_iter=2000), x[labeled], y[labeled]),
        "LabelSpreading (knn, 7 neighbours)": (LabelSpreading(kernel="knn"), x, y),
        "LabelSpreading (rbf, gamma 20)": (LabelSpreading(kernel="rbf"), x, y),
        f"LabelSpreading (rbf, gamma {scale:.3g} = 1/(d var))": (LabelSpreading(kernel="rbf", gamma=scale), x, y),
    }
    errors = {}
    for name, (model, xs, ys) in methods.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # rbf at gamma 20 on 784 pixels: all affinities underflow
            model.fit(xs, ys)
            errors[name] = 100 * float((model.predict(x_test) != y_test).mean())
    return errors


def mean_std(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--images", type=int, default=10000, help="Fashion-MNIST images in the file")
    ap.add_argument("--preset", default="mnist-semisupervised-100")
    ap.add_argument("--epochs", type=int, default=0, help="0: the preset's length")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--precision", default="auto", choices=["auto", "float32", "bf16"])
    ap.add_argument("--runs", type=Path, default=Path("runs/semisupervised_npz"))
    ap.add_argument("--results", type=Path, default=ROOT / "results" / "semisupervised_npz")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    npz = args.runs / f"fashion-{args.images}.npz"
    if not npz.is_file():
        write_npz(args.data_dir, args.images, npz)
    rows = []
    for seed in args.seeds:
        summary, cmd = train_aae(npz, seed, args)
        row = {"seed": seed, "aae": summary["test_error"], "aae_ema": summary.get("ema_test_error"), "command": cmd}
        row["precision"] = summary["precision"]
        row.update(baselines(npz, seed))
        rows.append(row)
        print(json.dumps(row), flush=True)
    methods = [k for k in rows[0] if k not in ("seed", "command", "precision")]
    precision = "/".join(sorted({r["precision"] for r in rows}))  # as the runs resolved it
    lines = [
        f"Test error (%) on {args.images // 10} Fashion-MNIST test images of a user's `.npz` of {args.images} images "
        f"(80/10/10 in file order), 100 training labels drawn by seed; mean ± std over seeds "
        f"{', '.join(map(str, args.seeds))}.",
        "",
        "| method | test error | per seed |",
        "|---|---|---|",
    ]
    names = {"aae": f"`{args.preset}` (weights)", "aae_ema": f"`{args.preset}` (weight average)"}
    for m in methods:
        vals = [r[m] for r in rows if r[m] is not None]
        if vals:
            lines.append(f"| {names.get(m, m)} | {mean_std(vals)} | {', '.join(f'{v:.2f}' for v in vals)} |")
    spreading = [m for m in methods if m.startswith("LabelSpreading")]
    best = min(spreading, key=lambda m: statistics.mean(r[m] for r in rows))
    gap = statistics.mean(r[best] for r in rows) - statistics.mean(r["aae"] for r in rows)
    lines += [
        "",
        f"Against the best LabelSpreading ({best}): the AAE's error is {gap:+.2f} points lower (positive: AAE better).",
        "",
        f"Machine: {platform.machine()}, torch {torch.__version__} with {args.threads} thread(s) per run, "
        f"scikit-learn {sklearn.__version__}, {precision}, commit {git_commit()}. "
        f"The file and the baselines: `{' '.join(['python benchmarks/semisupervised_npz.py', *sys.argv[1:]])}`; "
        "the AAE's commands (one per seed):",
        "",
        *[f"- `{r['command']}`" for r in rows],
    ]
    if args.epochs:
        print("\n".join(lines))
        return  # a shortened smoke run: recorded nowhere
    args.results.mkdir(parents=True, exist_ok=True)
    stem = "semisupervised_npz" + ("" if args.preset == "mnist-semisupervised-100" else f"-{args.preset}")
    (args.results / f"{stem}.json").write_text(json.dumps(rows, indent=1) + "\n")
    (args.results / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
