"""A small demonstration of `aae sweep`: the semi-supervised sweep definition on 3,000 MNIST images.

    OMP_NUM_THREADS=1 python benchmarks/sweeps/demo.py --data-dir ../shared/data   # a few minutes on one core

Takes ``benchmarks/sweeps/mnist-semisupervised-100.toml`` as it is (search space, objective,
pruner) and shrinks the data and the budget: the first 3,000 of MNIST's 50,000 training images
(saved as ``<sweep>/mnist-3000.npz``: 2,400 for training, of which 100 keep their label, 300 for
validation, 300 for testing), ``--trials`` trials (6) of ``--epochs`` epochs (2), one thread.
The sweep directory (``--sweep``, default ``runs/sweep-demo``) is an ordinary sweep: run the
script again to continue it, ``aae sweep show`` it. Writes the table of the best trials to
``<out>/demo.md`` and Optuna's plots to ``<out>/demo-*.png`` (``--out`` defaults to
``results/sweeps``). The numbers say how the machinery works, not which settings are best: two
epochs on 2,400 images are far from the paper's protocol.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tomllib
from pathlib import Path

import numpy as np

from aae.data import load_splits
from aae.sweep import run_sweep, show_sweep, to_toml

HERE = Path(__file__).resolve().parent
DEFINITION = HERE / "mnist-semisupervised-100.toml"


def make_subset(path: Path, data_dir: str | None, n: int) -> None:
    """The first ``n`` MNIST training images with their labels as uint8/int64 arrays."""
    splits = load_splits("mnist", data_dir)
    x = (splits.x_train[:n].numpy() * 255).round().astype(np.uint8)
    y = splits.y_train[:n].numpy().astype(np.int64)
    np.savez_compressed(path, x=x, y=y)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", help="folder holding mnist/ (see `aae data list`)")
    ap.add_argument("--sweep", type=Path, default=Path("runs/sweep-demo"), help="the sweep directory")
    ap.add_argument("--out", type=Path, default=Path("results/sweeps"), help="folder for the table and plots")
    ap.add_argument("--images", type=int, default=3000)
    ap.add_argument("--trials", type=int, default=6)
    ap.add_argument("--epochs", type=int, default=2)
    args = ap.parse_args()

    args.sweep.mkdir(parents=True, exist_ok=True)
    npz = (args.sweep / f"mnist-{args.images}.npz").resolve()
    if not npz.is_file():
        make_subset(npz, args.data_dir, args.images)
    d = tomllib.loads(DEFINITION.read_text())
    d.update(name="semisupervised-100-demo", trials=args.trials, epochs=args.epochs)
    d["set"] = [
        f"data.dataset={json.dumps(str(npz))}",
        "data.validation=300",  # an array file holds out at most a tenth for validation
        "data.n_labeled=100",
        "threads=1",
        "schedule.milestones=[]",
    ]
    d["pruning"]["startup_trials"] = 3
    d["pruning"]["min_epochs"] = 1
    text = f"# written by benchmarks/sweeps/demo.py from {DEFINITION.name}\n" + to_toml(d)
    target = args.sweep / "sweep.toml"
    if target.is_file() and target.read_text() != text:
        raise SystemExit(f"{target} holds another definition; choose another --sweep")
    target.write_text(text)

    run_sweep(args.sweep, verbose=False)
    args.out.mkdir(parents=True, exist_ok=True)
    plots = args.sweep / "plots"
    show_sweep(args.sweep, markdown=args.out / "demo.md", plots=plots)
    for p in plots.glob("*.png"):
        shutil.copy(p, args.out / f"demo-{p.name}")


if __name__ == "__main__":
    main()
