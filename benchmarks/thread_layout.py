"""Two one-thread runs side by side, or one two-thread run: which trains more epochs per hour?

    python benchmarks/thread_layout.py --data-dir ../shared/data [--preset mnist-semisupervised-100]
        [--precision bf16] [--steps 150] [--results results/throughput]

On a quiet machine with (at least) two cores, it times the same training loop (``Trainer.fit``,
everything done per step included) in two layouts:

- **one run, two threads**: one process with ``threads=2``;
- **two runs, one thread each**: two processes started together, ``threads=1`` each (different
  seeds, as two reproduction runs would be).

Each process trains two epochs of ``--steps`` mini-batches on the preset's data (its labeled
images plus unlabeled ones) and reports the second epoch's samples/s. Epochs per hour are
full-size epochs (50,000 MNIST training images); for two runs it is their sum. Writes
``<results>/thread_layout-<precision>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

from aae.errors import exit_on_error

ROOT = Path(__file__).resolve().parents[1]
EPOCH = 50_000  # MNIST training images per full-size epoch (10,000 held out)


def worker(args) -> None:
    """Train two short epochs in this process and print the second's samples/s as JSON."""
    import torch

    from aae.config import apply_overrides
    from aae.data import load_splits
    from aae.models import build_model
    from aae.presets import get_preset
    from aae.training import Trainer

    torch.set_num_threads(args.threads)
    cfg = apply_overrides(
        get_preset(args.preset), [f"precision={args.precision}", f"threads={args.threads}", f"seed={args.seed}"]
    )
    splits = load_splits("mnist", args.data_dir, cfg.data.validation, cfg.data.n_labeled, args.seed)
    labeled = (splits.y_train >= 0).nonzero().squeeze(1)
    unlabeled = (splits.y_train < 0).nonzero().squeeze(1)[: args.steps * cfg.batch_size - len(labeled)]
    pick = torch.cat([labeled, unlabeled])
    torch.manual_seed(args.seed)
    model = build_model(cfg, splits.data_dim, splits.n_classes)
    trainer = Trainer(model, cfg, splits.x_train[pick], splits.y_train[pick])
    trainer.fit(2)
    print(json.dumps({"samples_per_second": trainer.history[-1]["samples_per_second"]}), flush=True)


def launch(args, threads: int, seed: int) -> subprocess.Popen:
    cmd = [sys.executable, __file__, "--worker", "--threads", str(threads), "--seed", str(seed)]
    cmd += ["--preset", args.preset, "--precision", args.precision, "--steps", str(args.steps)]
    if args.data_dir:
        cmd += ["--data-dir", args.data_dir]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)


def result(proc: subprocess.Popen) -> float:
    out, _ = proc.communicate()
    if proc.returncode:
        exit_on_error(f"a timing process failed (exit status {proc.returncode})")
    return json.loads(out.strip().splitlines()[-1])["samples_per_second"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--preset", default="mnist-semisupervised-100")
    ap.add_argument("--precision", default="bf16", choices=["float32", "bf16"])
    ap.add_argument("--steps", type=int, default=150, help="mini-batches per timed epoch")
    ap.add_argument("--results", type=Path, default=ROOT / "results" / "throughput")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return
    one = result(launch(args, 2, 0))
    pair = [launch(args, 1, 0), launch(args, 1, 1)]
    two = [result(p) for p in pair]
    res = {
        "preset": args.preset,
        "precision": args.precision,
        "steps": args.steps,
        "one_run_two_threads_sps": one,
        "two_runs_one_thread_sps": two,
        "epochs_per_hour_one_run": 3600 * one / EPOCH,
        "epochs_per_hour_two_runs": 3600 * sum(two) / EPOCH,
        "machine": f"{platform.machine()}, {os.cpu_count()} logical CPUs",
        "command": "python benchmarks/thread_layout.py " + " ".join(sys.argv[1:]),
    }
    ratio = res["epochs_per_hour_two_runs"] / res["epochs_per_hour_one_run"]
    md = "\n".join(
        [
            f"`{args.preset}`, {args.precision}, {args.steps} mini-batches per timed epoch ({res['machine']}):",
            "",
            "| layout | samples/s per run | full epochs per hour, all runs |",
            "|---|---|---|",
            f"| one run, two threads | {one:.0f} | {res['epochs_per_hour_one_run']:.0f} |",
            f"| two runs, one thread each | {two[0]:.0f}, {two[1]:.0f} | {res['epochs_per_hour_two_runs']:.0f} |",
            "",
            f"Two one-thread runs train {ratio:.2f}x the epochs per hour of one two-thread run. "
            f"Command: `{res['command']}`.",
        ]
    )
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / f"thread_layout-{args.precision}.json").write_text(json.dumps(res, indent=1) + "\n")
    (args.results / f"thread_layout-{args.precision}.md").write_text(md + "\n")
    print(md)


if __name__ == "__main__":
    main()
