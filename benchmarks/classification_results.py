"""Reproduce the paper's classification tables: semi-supervised (Table 2), clustering (Table 3),
dimensionality reduction (Fig. 11), and write a results table.

    python benchmarks/classification_results.py --data-dir ../shared/data [--epochs N] [--seeds 0 1 2]
        [--only mnist-semisupervised-100 ...] [--set key=value ...] [--tag NAME] [--results results/classification]

Trains each preset for its full length (or ``--epochs``) once per seed, skipping runs whose
summary.json already exists (so an interrupted reproduction picks up where it stopped), and
writes ``results/classification/classification[-TAG].md`` and ``.json``: paper figure, our test error as
mean ± std over seeds, epochs, wall time per run and the machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

from core_results import machine  # same folder: run as python benchmarks/classification_results.py

#: preset -> the paper's test error (percent) and where it is reported
PAPER = {
    "mnist-semisupervised-100": ("1.90 ± 0.10", "Table 2"),
    "mnist-semisupervised-1000": ("1.60 ± 0.08", "Table 2"),
    "mnist-semisupervised-all": ("0.85 ± 0.02", "Table 2"),
    "mnist-clusters-16": ("9.55 ± 2.05", "Table 3"),
    "mnist-clusters-30": ("4.10 ± 1.13", "Table 3"),
    "mnist-dimred-2d-1000": ("4.20", "Fig. 11a"),
    "mnist-dimred-2d-100": ("6.08", "Fig. 11b"),
    "mnist-dimred-2d-unsup-20": ("~13.5", "Fig. 11d"),
    "mnist-dimred-10d-100": ("3.90", "Fig. 11c"),
}


def train(preset: str, out: Path, seed: int, args) -> dict:
    if not (out / "summary.json").is_file():
        cmd = [sys.executable, "-m", "aae", "train", preset, "--out", str(out), "--seed", str(seed), "--overwrite"]
        if args.epochs:
            cmd += ["--epochs", str(args.epochs)]
        if args.data_dir:
            cmd += ["--data-dir", args.data_dir]
        for s in args.set:
            cmd += ["--set", s]
        print(" ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)
    return json.loads((out / "summary.json").read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--epochs", type=int, default=0, help="0: each preset's own length")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--only", nargs="*", help="presets to run (default: all of the tables)")
    ap.add_argument("--set", action="append", default=[], help="config override passed to every run")
    ap.add_argument("--tag", default="", help="name of this reproduction (<results>/classification-TAG.md)")
    ap.add_argument("--runs", type=Path, default=Path("runs/classification"))
    ap.add_argument("--results", type=Path, default=Path("results/classification"))
    args = ap.parse_args()
    rows = []
    for preset, (paper, where) in PAPER.items():
        if args.only and preset not in args.only:
            continue
        runs = [train(preset, args.runs / (args.tag or "default") / f"{preset}-s{s}", s, args) for s in args.seeds]
        errors = [r["test_error"] for r in runs]
        rows.append(
            {
                "preset": preset,
                "paper": paper,
                "where": where,
                "test_errors": errors,
                "mean": statistics.mean(errors),
                "std": statistics.stdev(errors) if len(errors) > 1 else 0.0,
                "epochs": runs[0]["epochs"],
                "train_minutes": [r["train_seconds"] / 60 for r in runs],
                "seeds": args.seeds,
                "overrides": args.set,
            }
        )
    suffix = f"-{args.tag}" if args.tag else ""
    args.results.mkdir(parents=True, exist_ok=True)
    info = {"machine": machine(), "command": " ".join(sys.argv), "rows": rows}
    (args.results / f"classification{suffix}.json").write_text(json.dumps(info, indent=2) + "\n")
    lines = [
        f"Machine: {info['machine']}. Command: `{info['command']}`.",
        "",
        "| preset | paper test error (%) | ours (%) | seeds | epochs | train time per run |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        ours = f"{r['mean']:.2f}" + (f" ± {r['std']:.2f}" if len(r["test_errors"]) > 1 else "")
        minutes = ", ".join(f"{m:.0f}" for m in r["train_minutes"])
        lines.append(
            f"| `{r['preset']}` | {r['paper']} ({r['where']}) | {ours} | {len(r['seeds'])} | {r['epochs']} "
            f"| {minutes} min |"
        )
    (args.results / f"classification{suffix}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
