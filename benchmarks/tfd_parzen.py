"""Paper Table 1, TFD column: Parzen log-likelihood of ``tfd-gaussian-15d`` over the 5 folds.

    python benchmarks/tfd_parzen.py --data-dir D [--epochs N] [--folds 0 1 2 3 4] [--n-samples 10000]
        [--runs runs/tfd_parzen] [--results results/tfd_parzen] [--set KEY=VALUE ...] [--force]

For each fold k (``--set data.fold=k``; ``D/tfd/TFD_48x48.mat`` must exist): ``aae train
tfd-gaussian-15d``, then ``aae eval --parzen``: ``--n-samples`` decoded prior samples, mapped back
to [0, 1] by the run's standardization, define the Parzen window; σ is chosen on the fold's
valid part and the fold's test images (in [0, 1]) are scored. A fold whose summary.json already
holds a Parzen result is reused (``--force`` trains it again). Writes
``<results>/tfd_parzen.{md,json}``: each fold's mean test log-likelihood (with its standard error
over test images and σ), and the mean ± standard error over folds, the paper's 2252 ± 16 nats.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from core_results import machine  # noqa: E402

from aae.cli import main as aae  # noqa: E402

PRESET = "tfd-gaussian-15d"
PAPER = "2252 ± 16"


def run_aae(args: list[str]) -> None:
    """``aae ARGS`` in this process; a failure stops the benchmark with its exit status."""
    print("aae " + " ".join(args), flush=True)
    code = aae(args)
    if code:
        raise SystemExit(code)


def fold_result(fold: int, args) -> dict:
    """Train and evaluate one fold (unless done before); returns its summary.json plus the commands."""
    out = args.runs / f"fold{fold}"
    data = ["--data-dir", args.data_dir] if args.data_dir else []
    train = ["train", PRESET, "--out", str(out), "--overwrite", "--quiet", *data, "--set", f"data.fold={fold}"]
    if args.epochs:
        train += ["--epochs", str(args.epochs)]
    for s in args.set:
        train += ["--set", s]
    evaluate = ["eval", str(out), "--parzen", "--n-samples", str(args.n_samples), *data]
    summary = out / "summary.json"
    done = summary.is_file() and "parzen_ll" in json.loads(summary.read_text())
    if args.force or not done:
        run_aae(train)
        run_aae(evaluate)
    commands = ["aae " + " ".join(c) for c in (train, evaluate)]
    return {"fold": fold, **json.loads(summary.read_text()), "commands": commands}


def across_folds(values: list[float]) -> tuple[float, float | None]:
    """Mean and standard error (std / √k) of per-fold values; no error from a single fold."""
    if len(values) < 2:
        return values[0], None
    return statistics.mean(values), statistics.stdev(values) / math.sqrt(len(values))


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=None, help="folder holding tfd/TFD_48x48.mat")
    ap.add_argument("--epochs", type=int, default=0, help="0: the preset's own (100)")
    ap.add_argument("--folds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--n-samples", type=int, default=10000, help="decoded prior samples for the Parzen window")
    ap.add_argument("--set", action="append", default=[], help="config override passed to every run")
    ap.add_argument("--force", action="store_true", help="train and evaluate folds that already have a result")
    ap.add_argument("--runs", type=Path, default=Path("runs/tfd_parzen"))
    ap.add_argument("--results", type=Path, default=Path("results/tfd_parzen"))
    args = ap.parse_args(argv)
    folds = [fold_result(k, args) for k in args.folds]
    mean, sem = across_folds([f["parzen_ll"] for f in folds])
    info = {
        "preset": PRESET,
        "paper": PAPER,
        "machine": machine(),
        "invocation": " ".join(["python", "benchmarks/tfd_parzen.py", *(argv if argv is not None else sys.argv[1:])]),
        "folds": folds,
        "parzen_ll_mean": mean,
        "parzen_ll_sem_across_folds": sem,
    }
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "tfd_parzen.json").write_text(json.dumps(info, indent=2) + "\n")
    ours = f"{mean:.0f}" + (f" ± {sem:.0f}" if sem is not None else " (one fold)")
    lines = [
        f"TFD Parzen log-likelihood of `{PRESET}` (nats; paper Table 1: {PAPER}). Machine: {info['machine']}.",
        f"Invocation: `{info['invocation']}`.",
        "",
        "| fold | epochs | test log-likelihood (± s.e. over test images) | σ | test recon MSE | train time |",
        "|---|---|---|---|---|---|",
    ]
    for f in folds:
        lines.append(
            f"| {f['fold']} | {f['epochs']} | {f['parzen_ll']:.1f} ± {f['parzen_sem']:.1f} | {f['parzen_sigma']:.3f} "
            f"| {f['recon_mse']:.4f} | {f['train_seconds'] / 60:.1f} min |"
        )
    lines += ["", f"**Mean over {len(folds)} fold(s): {ours} nats** (± standard error across folds).", ""]
    lines += ["Commands:", ""] + [f"- `{c}`" for f in folds for c in f["commands"]]
    (args.results / "tfd_parzen.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return info


if __name__ == "__main__":
    main()
