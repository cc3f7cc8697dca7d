"""Does bf16 train each model family to the same quality as float32? Seeds side by side.

    python benchmarks/precision_parity.py --data-dir ../shared/data [--seeds 0 1 2] [--threads 1]
        [--only aae semisupervised clustering dimred supervised] [--epochs N]

For each family, one preset trains with ``--set precision=float32`` and with ``precision=bf16``
for every seed (the same seed gives the same data order, labels and initial weights in both),
``--epochs`` (default: the family's below) into ``runs/parity/<preset>-<precision>-s<seed>``;
a finished run is reused, so an interrupted benchmark continues where it stopped. Writes
``results/throughput/parity.json`` (one record per run) and ``parity.md``: per family and test
metric, mean ± std over seeds for each precision, the mean paired difference, and whether parity
holds: the two means are apart by no more than float32's own seed-to-seed std or 10 % of its
mean, whichever is larger (a difference smaller than what changing the seed does).
The supervised family's ``label_use`` (% of images decoded with a label that show it, Fig. 7a) is
measured as ``benchmarks/reproduce.py fig7`` measures it, and kept in the run's summary.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from core_results import machine  # noqa: E402
from reproduce import ROOT, extra_metric, finished, git_commit  # noqa: E402

from aae.errors import exit_on_error  # noqa: E402
from aae.hardware import fast_bf16  # noqa: E402

#: family -> (preset, epochs, the test metrics of summary.json compared)
FAMILIES: dict[str, tuple[str, int, list[str]]] = {
    "aae": ("mnist-gaussian-8d", 10, ["recon_mse", "prior_mmd"]),
    "semisupervised": ("mnist-semisupervised-100-vat", 5, ["test_error"]),
    "clustering": ("mnist-clusters-16-paper", 5, ["test_error"]),
    "dimred": ("mnist-dimred-2d-1000-paper", 5, ["test_error"]),
    "supervised": ("mnist-supervised-style", 5, ["label_use", "recon_mse"]),
}
PRECISIONS = ("float32", "bf16")


def train(preset: str, precision: str, seed: int, epochs: int, metrics: list[str], args) -> dict:
    """The summary of one run, trained unless a finished one is there, with ``label_use`` added
    when ``metrics`` asks for it."""
    out = args.runs / f"{preset}-{precision}-s{seed}"
    summary = finished(out)
    if summary is None:
        cmd = [sys.executable, "-m", "aae", "train", preset, "--seed", str(seed), "--epochs", str(epochs)]
        cmd += ["--set", f"precision={precision}", "--set", f"threads={args.threads}"]
        cmd += ["--out", str(out), "--quiet", "--overwrite", "--data-dir", args.data_dir]
        print(" ".join(cmd), flush=True)
        t0 = time.perf_counter()
        if subprocess.run(cmd).returncode:  # `aae train` printed its own error line
            exit_on_error(f"training failed: {' '.join(cmd)}")
        print(f"  {time.perf_counter() - t0:.0f} s", flush=True)
        summary = finished(out)
    if "label_use" in metrics:
        summary = {**summary, **extra_metric("label_use", out, args)}
    return summary


def parity(f32: list[float], bf16: list[float]) -> dict:
    """Means, stds, the mean paired difference and the verdict for one metric (values by seed)."""
    mf, mb = statistics.mean(f32), statistics.mean(bf16)
    sf = statistics.stdev(f32) if len(f32) > 1 else 0.0
    sb = statistics.stdev(bf16) if len(bf16) > 1 else 0.0
    tolerance = max(sf, 0.1 * abs(mf))
    return {
        "float32": [mf, sf],
        "bf16": [mb, sb],
        "paired_diff": statistics.mean(b - f for f, b in zip(f32, bf16)),
        "tolerance": tolerance,
        "parity": abs(mb - mf) <= tolerance,
    }


def markdown(records: list[dict], verdicts: dict) -> str:
    commands = sorted({v["command"] for v in verdicts.values()})
    lines = [
        f"Machine: {machine()} (fast bf16: {'yes' if fast_bf16(torch.device('cpu')) else 'no'}); "
        + "; ".join(f"`{c}`" for c in commands)
        + ".",
        "",
        "Test metrics after the same epochs, mean ± std over seeds; parity: the means are apart by no",
        "more than float32's seed-to-seed std or 10 % of its mean, whichever is larger.",
        "",
        "| family | preset | epochs | seeds | metric | float32 | bf16 | bf16 − float32 (paired) | parity |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for family, metrics in verdicts.items():
        preset, epochs = metrics["preset"], metrics["epochs"]
        for metric, v in metrics["metrics"].items():
            lines.append(
                f"| {family} | `{preset}` | {epochs} | {metrics['seeds']} | {metric} | "
                f"{v['float32'][0]:.4g} ± {v['float32'][1]:.2g} | {v['bf16'][0]:.4g} ± {v['bf16'][1]:.2g} | "
                f"{v['paired_diff']:+.3g} | {'yes' if v['parity'] else '**no**'} |"
            )
    lines += ["", "Runs (wall time is the run's training time, on a machine shared with other jobs):", ""]
    lines += ["| preset | precision | seed | metric | value | train s |", "|---|---|---|---|---|---|"]
    for r in records:
        for m, v in r["metrics"].items():
            run = f"`{r['preset']}` | {r['precision']} | {r['seed']}"
            lines.append(f"| {run} | {m} | {v:.4g} | {r['train_seconds']:.0f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--only", nargs="+", choices=list(FAMILIES), default=list(FAMILIES))
    ap.add_argument("--epochs", type=int, default=None, help="epochs for every family (default: each family's own)")
    ap.add_argument("--runs", type=Path, default=ROOT / "runs" / "parity")
    ap.add_argument("--results", type=Path, default=ROOT / "results" / "throughput")
    args = ap.parse_args()
    records, verdicts = [], {}
    commit = git_commit()
    for family in args.only:
        preset, default_epochs, metrics = FAMILIES[family]
        epochs = args.epochs or default_epochs
        values: dict[str, dict[str, list[float]]] = {p: {m: [] for m in metrics} for p in PRECISIONS}
        for seed in args.seeds:
            for precision in PRECISIONS:
                summary = train(preset, precision, seed, epochs, metrics, args)
                records.append(
                    {
                        "family": family,
                        "preset": preset,
                        "precision": precision,
                        "seed": seed,
                        "epochs": epochs,
                        "metrics": {m: summary[m] for m in metrics},
                        "train_seconds": summary["train_seconds"],
                        "threads": args.threads,
                        "commit": commit,
                    }
                )
                for m in metrics:
                    values[precision][m].append(summary[m])
        verdicts[family] = {
            "preset": preset,
            "epochs": epochs,
            "seeds": len(args.seeds),
            "metrics": {m: parity(values["float32"][m], values["bf16"][m]) for m in metrics},
        }
    command = "python benchmarks/precision_parity.py " + " ".join(sys.argv[1:])
    for v in verdicts.values():
        v["command"] = command  # with the verdict: a later --only run keeps it beside its own
    # families not measured this time keep their earlier records (--only measures some of them again)
    path = args.results / "parity.json"
    earlier = json.loads(path.read_text()) if path.is_file() else {"records": [], "verdicts": {}}
    kept = {f: v for f, v in earlier["verdicts"].items() if f not in verdicts}
    verdicts = kept | verdicts
    records = [r for r in earlier["records"] if r["family"] in kept] + records
    verdicts = {f: verdicts[f] for f in FAMILIES if f in verdicts}  # the families' order, whatever ran last
    args.results.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"records": records, "verdicts": verdicts}, indent=1) + "\n")
    (args.results / "parity.md").write_text(markdown(records, verdicts))
    print((args.results / "parity.md").read_text())


if __name__ == "__main__":
    main()
