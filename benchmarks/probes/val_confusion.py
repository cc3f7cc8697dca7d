"""Which classes a classifier confuses on the validation split, from a run's latest checkpoint
(a run still training, or finished), without touching the test split.

    python benchmarks/probes/val_confusion.py RUN [--data-dir ../shared/data] [--ema] [--units]

Prints the validation error, the confusion matrix (row: true class, column: predicted) and the
most confused pairs; with ``--units``, for each softmax unit of y (several per class with
``semisupervised.categories_per_class``) how many validation images of each true class pick it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from _cli import run

from aae.checkpoints import load_tensors
from aae.classification import as_float, confusion_counts, error_percent, predict_labels, predict_proba
from aae.data import load_splits
from aae.errors import AAEError
from aae.models import build_model
from aae.runs.files import checkpoint_data_dir, read_config


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--data-dir", default=None, help="default: the folder the run's checkpoint recorded")
    ap.add_argument("--ema", action="store_true", help="the weight average instead of the weights")
    ap.add_argument("--units", action="store_true", help="also each softmax unit's validation images by true class")
    run(ap, report)


def report(args) -> None:
    if not (args.run / "config.json").is_file():
        raise AAEError(f"{args.run} holds no config.json: not a run directory")
    if not (args.run / "checkpoint.json").is_file():
        raise AAEError(f"{args.run} holds no checkpoint yet (checkpoint.json)")
    cfg = read_config(args.run / "config.json")
    d = cfg.data
    data_dir = args.data_dir or checkpoint_data_dir(args.run)  # where the run was trained from
    splits = load_splits(d.dataset, data_dir, d.validation, d.n_labeled, d.labels_drawn_by(cfg.seed))
    tensors, meta = load_tensors(args.run / "checkpoint")
    prefix = "ema.module." if args.ema else "model."
    n_classes = splits.n_classes
    model = build_model(cfg, splits.data_dim, n_classes, splits.image_shape)
    model.load_state_dict({k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)})
    pred = predict_labels(predict_proba(model, splits.x_val))
    counts = confusion_counts(pred, splits.y_val, n_classes)
    error = error_percent(pred, splits.y_val)
    print(f"{args.run}: step {meta['step']}, epoch {meta['epoch']}, val error {error:.2f} %")
    for i, row in enumerate(counts.tolist()):
        print(f"  {i}: " + " ".join(f"{n:5d}" for n in row))
    off = counts.clone().fill_diagonal_(0)
    top = torch.argsort(off.flatten(), descending=True)[:6]
    pairs = [(int(t) // n_classes, int(t) % n_classes, int(off.flatten()[t])) for t in top]
    print("most confused (true -> predicted: count):", json.dumps([f"{a}->{b}: {n}" for a, b, n in pairs]))
    if args.units:
        print_units(model, splits.x_val, splits.y_val, n_classes)


@torch.no_grad()
def print_units(model, x: torch.Tensor, y: torch.Tensor, n_classes: int) -> None:
    """One line per unit u of y: the class that owns it, then its validation images by true class."""
    model.eval()
    unit = torch.cat([model.encoder(as_float(b))[0].argmax(1) for b in x.split(1000)])
    per_class = model.per_class
    print(f"units (owner class: validation images by true class 0..{n_classes - 1}):")
    for u in range(per_class * n_classes):
        counts = torch.bincount(y[unit == u], minlength=n_classes).tolist()
        print(f"  unit {u:2d} (class {u // per_class}): " + " ".join(f"{n:5d}" for n in counts))


if __name__ == "__main__":
    main()
