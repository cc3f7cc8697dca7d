"""Reproduce the core experiments (paper Fig. 2 and Fig. 4) and write a results table.

    python benchmarks/core_results.py --data-dir ../shared/data [--epochs 20] [--runs runs/core]
        [--results results/core] [--rewrite]

Trains each preset (skipping runs whose summary.json already exists), including the
plain-autoencoder baseline for the prior match (``model=autoencoder``), and writes
``results/core/core.md`` and ``results/core/core.json`` with test reconstruction MSE, MMD between
10,000 test codes and 10,000 prior samples, the fraction of test codes in their label's
component, wall time and the machine. ``--rewrite`` writes ``core.md`` again from ``core.json``
without training. MSE and MMD are printed to five decimals: the mixture runs with and without
labels agree to four (the labels move codes between components, barely the reconstructions).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path

import torch

RUNS = [
    # (run name, preset, extra --set overrides, what it shows)
    ("gaussian-2d", "mnist-gaussian-2d", [], "Fig. 2a"),
    ("gaussian-2d-noreg", "mnist-gaussian-2d", ["model=autoencoder"], "baseline: no regularization"),
    ("mixture-2d", "mnist-mixture-2d", [], "Fig. 2b"),
    ("mixture-2d-labels", "mnist-mixture-2d-labels", [], "Fig. 4a"),
    ("swissroll-2d-labels", "mnist-swissroll-2d-labels", [], "Fig. 4c"),
]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {torch.get_num_threads()} threads, torch {torch.__version__}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--runs", type=Path, default=Path("runs/core"))
    ap.add_argument("--results", type=Path, default=Path("results/core"))
    ap.add_argument("--only", nargs="*", help="run names to (re)run")
    ap.add_argument("--rewrite", action="store_true", help="write core.md from core.json, training nothing")
    args = ap.parse_args()
    if args.rewrite:
        saved = json.loads((args.results / "core.json").read_text())
        write_table(saved["rows"], saved["machine"], args.results)
        return
    rows = []
    for name, preset, sets, shows in RUNS:
        if args.only and name not in args.only:
            continue
        out = args.runs / name
        if not (out / "summary.json").is_file():
            cmd = [
                sys.executable,
                "-m",
                "aae",
                "train",
                preset,
                "--out",
                str(out),
                "--epochs",
                str(args.epochs),
                "--overwrite",
            ]
            if args.data_dir:
                cmd += ["--data-dir", args.data_dir]
            for s in sets:
                cmd += ["--set", s]
            print(" ".join(cmd), flush=True)
            subprocess.run(cmd, check=True)
        summary = json.loads((out / "summary.json").read_text())
        rows.append({"run": name, "preset": preset, "overrides": sets, "shows": shows, **summary})
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "core.json").write_text(json.dumps({"machine": machine(), "rows": rows}, indent=2) + "\n")
    write_table(rows, machine(), args.results)


def write_table(rows: list[dict], machine_text: str, results: Path) -> None:
    epochs = rows[0]["epochs"] if rows else 0
    lines = [
        f"Machine: {machine_text}. Command: `python benchmarks/core_results.py --epochs {epochs}`.",
        "",
        "| run | paper | epochs | test recon MSE | MMD(test codes, prior) | label match | train time |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        match = f"{100 * r['label_match']:.1f} %" if "label_match" in r else "-"
        lines.append(
            f"| {r['run']} | {r['shows']} | {r['epochs']} | {r['recon_mse']:.5f} | {r['prior_mmd']:.5f} | {match} "
            f"| {r['train_seconds'] / 60:.1f} min |"
        )
    (results / "core.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
