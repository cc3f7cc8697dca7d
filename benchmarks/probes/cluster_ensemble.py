"""Several finished clustering runs of one preset (different seeds) as one clustering: a cluster ensemble.

    python benchmarks/probes/cluster_ensemble.py RUN_OR_NPZ [RUN_OR_NPZ ...] [--data-dir DIR]
        [--save] [--test]

For each run, q(y|x) of the training, validation and test images (``--save`` writes them to
``RUN/memberships.npz``, float16, so that the ensemble can be formed again once the run's
weights are gone; such a file can stand in for its run). The ensemble is the consensus of
``aae.sklearn.AAEClustering(combine="consensus")``: k-means on the concatenated memberships of the
training images, then each run votes through its table P(consensus cluster | its own cluster).
Each run and the ensemble are scored on validation as in the paper (a cluster takes the label of
its most confident validation image, and validation images are scored with it) and by majority
vote; the test split is read only with ``--test``. Also per run, two unsupervised criteria one
could pick a run by: the IMSAT cost on the training images (log K - H(mean q) + 0.3 mean H(q),
the clustering presets' weights) and the mean max q(y|x).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from _cli import run

from aae.classification import cluster_labels, error_percent, majority_labels, predict_labels, predict_proba
from aae.errors import AAEError
from aae.models.classifier_terms import balance_cost
from aae.runs.evaluate import run_splits
from aae.runs.files import load_run
from aae.sklearn.clustering import consensus_membership, consensus_votes

SPLITS = ("train", "val", "test")


def memberships(path: Path, data_dir: str | None, save: bool) -> tuple[dict[str, np.ndarray], object]:
    """q(y|x) of each split ``{split: (n, K) float32}`` and the run's splits (labels; None without the run)."""
    npz = path if path.suffix == ".npz" else path / "memberships.npz"
    run_dir = path.parent if path.suffix == ".npz" else path
    run = load_run(run_dir) if (run_dir / "model.safetensors").is_file() else None
    splits = run_splits(run, data_dir) if run is not None else None
    if npz.is_file():
        with np.load(npz) as f:
            q = {s: f[s].astype(np.float32) for s in SPLITS}
    else:
        if run is None:
            raise AAEError(f"{path} holds neither memberships.npz nor a finished run (model.safetensors)")
        q = {s: predict_proba(run.model, getattr(splits, f"x_{s}")).numpy() for s in SPLITS}
        if save:
            np.savez_compressed(npz, **{s: v.astype(np.float16) for s, v in q.items()})
    return q, splits


def scores(q: dict[str, np.ndarray], y: dict[str, torch.Tensor], test: bool) -> dict[str, float]:
    """Validation (and test) error in percent, clusters named by the paper's rule and by majority."""
    val = torch.from_numpy(q["val"])
    out = {}
    for name, naming in (("", cluster_labels), ("_majority", majority_labels)):
        mapping = naming(val, y["val"])
        for s in ("val", "test") if test else ("val",):
            out[f"{s}_error{name}"] = error_percent(predict_labels(torch.from_numpy(q[s]), mapping), y[s])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", type=Path, nargs="+")
    ap.add_argument("--data-dir", default=None, help="default: the folder each run recorded")
    ap.add_argument("--save", action="store_true", help="write RUN/memberships.npz")
    ap.add_argument("--test", action="store_true", help="also score the test split (once per finished ensemble)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the consensus k-means")
    run(ap, report)


def report(args) -> None:
    qs, y = [], None
    for path in args.runs:
        q, splits = memberships(path, args.data_dir, args.save)
        if splits is not None and y is None:
            y = {s: getattr(splits, f"y_{s}") for s in SPLITS}
        qs.append(q)
    if y is None:
        from aae.data import load_splits  # memberships only: the clustering presets' split

        splits = load_splits("mnist", args.data_dir, 10000, -1, 0)
        y = {s: getattr(splits, f"y_{s}") for s in SPLITS}
    k = qs[0]["train"].shape[1]
    for path, q in zip(args.runs, qs):
        row = scores(q, y, args.test)
        cost = float(balance_cost(torch.from_numpy(q["train"]), 1.0, 0.3))  # the clustering presets' weights
        crit = f"IMSAT cost {cost:.4f}, mean max q {q['train'].max(1).mean():.4f}"
        print(f"{path}: " + ", ".join(f"{m} {v:.2f}" for m, v in row.items()) + f"; {crit}")
    if len(qs) > 1:
        votes = consensus_votes([q["train"] for q in qs], k, args.seed)
        ens = {s: consensus_membership([q[s] for q in qs], votes).astype(np.float32) for s in SPLITS}
        row = scores(ens, y, args.test)
        print(f"ensemble of {len(qs)}: " + ", ".join(f"{m} {v:.2f}" for m, v in row.items()))


if __name__ == "__main__":
    main()
