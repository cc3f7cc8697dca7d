"""How long ``aae eval`` takes against a training epoch: the test metrics of every run, and the
MMD to the prior within them, timed beside one epoch of the same model, in one process.

    OMP_NUM_THREADS=1 python benchmarks/eval_speed.py --data-dir ../shared/data [--preset mnist-gaussian-2d]
        [--threads 1] [--results results/eval_speed]

Trains ``--preset`` for one epoch (``aae.runs.train_run``, which evaluates the test split at the
end), then times on its 10,000 test codes: the test metrics as ``aae eval`` computes them
(``code_metrics``: reconstruction, MMD² over blocks of 1,000 codes with its standard error), the
MMD² over blocks alone, and the statistic over all 10,000² pairs that earlier versions computed
(``aae.metrics.mmd``, the value the blocks estimate). Writes ``eval_speed.md`` and ``.json``
with the ratios to the epoch's training time, both MMD values and the machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch
from core_results import machine

from aae.metrics import mmd, prior_mmd
from aae.presets import get_preset
from aae.runs import load_run, train_run
from aae.runs.evaluate import code_metrics, encode_split, run_splits


def timed(fn):
    t = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--preset", default="mnist-gaussian-2d")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--results", type=Path, default=Path("results/eval_speed"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = get_preset(args.preset)
    cfg.epochs, cfg.threads = 1, args.threads
    with tempfile.TemporaryDirectory() as tmp:
        summary = train_run(cfg, Path(tmp) / "run", data_dir=args.data_dir, progress=False)
        run = load_run(Path(tmp) / "run")
        splits = run_splits(run, args.data_dir)
        x, y = splits.x_test, splits.y_test
        _, t_metrics = timed(lambda: code_metrics(run, x, y))
        codes = encode_split(run, x)
        prior = run.model.prior
        (blocks, se), t_blocks = timed(lambda: prior_mmd(codes, prior, torch.Generator().manual_seed(1)))
        ref = prior.sample(len(codes), torch.Generator().manual_seed(1))
        bandwidths = [f * prior.scale for f in (0.2, 0.5, 1.0, 2.0, 5.0)]
        full, t_full = timed(lambda: mmd(codes, ref, bandwidths))
    epoch = summary["train_seconds"]
    res = {
        "preset": args.preset,
        "test_codes": len(codes),
        "epoch_s": epoch,
        "eval_metrics_s": t_metrics,
        "mmd_blocks_s": t_blocks,
        "mmd_all_pairs_s": t_full,
        "mmd_blocks": blocks,
        "mmd_blocks_se": se,
        "mmd_all_pairs": full,
        "machine": machine(),
        "command": "python " + " ".join(sys.argv),
    }
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "eval_speed.json").write_text(json.dumps(res, indent=2) + "\n")
    md = [
        f"# eval speed: `{args.preset}`, {len(codes)} test codes",
        "",
        "| what | seconds | against one training epoch |",
        "|---|---|---|",
        f"| one training epoch | {epoch:.1f} | 1 |",
        f"| test metrics (`aae eval`: reconstruction, MMD² over blocks) | {t_metrics:.2f} | {t_metrics / epoch:.3f} |",
        f"| MMD² over 10 blocks of 1,000 codes | {t_blocks:.2f} | {t_blocks / epoch:.3f} |",
        f"| MMD² over all 10⁸ pairs (the statistic earlier versions reported) | {t_full:.2f} | {t_full / epoch:.3f} |",
        "",
        f"MMD² over blocks {blocks:.5f} ± {se:.5f} (standard error); over all pairs {full:.5f}.",
        f"Machine: {res['machine']}. Command: `{res['command']}`.",
        "",
    ]
    (args.results / "eval_speed.md").write_text("\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
