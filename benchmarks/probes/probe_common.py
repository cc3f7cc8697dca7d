"""What the small MNIST probes share: their arguments, the data, and a training loop scored every few epochs.

A probe trains one model of a preset's kind on a few thousand MNIST images, scores it every
``--every`` epochs and after the last, and prints one line: the overrides, the curve of scores, the
last epoch's losses and the wall time. Probes check a hypothesis in minutes before a full-size run;
their numbers are not results.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence

import torch

from aae.config import Config
from aae.data import Splits, load_splits
from aae.models import build_model
from aae.training import Trainer


def parser(doc: str, epochs: int, every: int) -> argparse.ArgumentParser:
    """The arguments every probe takes; a probe adds its own."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="config overrides, as aae train --set takes")
    ap.add_argument("--data-dir", default=None, help="where the MNIST files are (default: $AAE_DATA, ~/.cache/aae)")
    ap.add_argument("--epochs", type=int, default=epochs, help="training epochs (default: %(default)s)")
    ap.add_argument("--every", type=int, default=every, help="score every N epochs and after the last")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=0, help="label draw and initialisation")
    return ap


def mnist(args: argparse.Namespace, n_labeled: int = -1) -> Splits:
    """MNIST with 10,000 training images held out for validation; sets the probe's thread count."""
    torch.set_num_threads(args.threads)
    return load_splits("mnist", args.data_dir, 10000, n_labeled, args.seed)


def train_scored(
    cfg: Config,
    x: torch.Tensor,
    y: torch.Tensor,
    args: argparse.Namespace,
    score: Callable[[torch.nn.Module], Sequence[float | int]],
) -> tuple[list[tuple], dict, float]:
    """Train ``cfg``'s model on ``(x, y)`` (``y == -1``: unlabeled) for ``args.epochs`` epochs.

    Returns the curve ``[(epoch, *score(model)), ...]``, the last epoch's metrics and the seconds taken.
    """
    torch.manual_seed(args.seed)
    model = build_model(cfg, x.shape[1], 10)
    trainer = Trainer(model, cfg, x, y)
    t0 = time.time()
    curve = []
    for epoch in range(1, args.epochs + 1):
        trainer.fit(epoch)
        if epoch % args.every == 0 or epoch == args.epochs:
            curve.append((epoch, *score(model)))
    return curve, trainer.history[-1], time.time() - t0


def report(
    args: argparse.Namespace,
    name: str,
    columns: str,
    curve: list[tuple],
    last: dict,
    keys: Sequence[str],
    seconds: float,
) -> None:
    """One line: the overrides (or ``name``), the curve with its ``columns``, the last epoch's ``keys``, the time."""
    metrics = " ".join(f"{k} {round(last[k], 3)}" for k in keys if k in last)
    print(" ".join(args.overrides) or name, f"| ({columns}):", curve, "|", metrics, f"{seconds:.0f}s", flush=True)
