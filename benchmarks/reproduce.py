"""Reproduce the paper's tables and figures, each preset at its full length, over several seeds.

    python benchmarks/reproduce.py table2 --seeds 0 1 2 --data-dir ../shared/data [--threads 1]
    python benchmarks/reproduce.py table3 | fig11 | table1 | fig7 | components ...
        [--only PRESET ...] [--epochs N] [--runs runs/reproduce] [--results results/reproduce]

Each (preset, seed) trains with one ``aae train`` command into ``<runs>/<preset>-s<seed>``; a finished
run (its summary.json covers the preset's length) is reused, an interrupted one is resumed from
its checkpoint; a run whose config.json differs from what the preset gives today (the preset changed
since) is moved aside to ``<preset>-s<seed>-stale-<n>`` and trained afresh. The command is recorded
with the result, so anyone can check a number by replaying it: runs are seeded and deterministic on
the same machine and thread count, and the same command with ``--epochs 2`` gives
the first two epochs of the same curve. Writes:

- ``<results>/<table>.json``: a list of records ``preset, seed, epochs, test_error, val_error,
  wall_s, threads, commit, command`` (and the table's own metric: ``parzen_ll`` for table1,
  ``label_use`` for fig7), merged with the records already there for other presets and seeds;
  ``commit`` is the one the run started from (kept in ``<runs>/<preset>-s<seed>.commit``), so a
  resumed or reused run keeps it;
- ``<results>/<table>.md``: mean ± std over seeds beside the paper's figure;
- ``<results>/runs/<preset>-s<seed>/metrics.jsonl``: each run's per-epoch curve.

``--epochs N`` trains a shortened copy into ``<preset>-s<seed>-e<N>`` and records nothing (a replay check).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: table -> [(preset, the paper's figure, the metric that figure is, lower is better)]
TABLES: dict[str, list[tuple[str, str, str, bool]]] = {
    "table2": [
        ("mnist-semisupervised-100", "1.90 ± 0.10", "test_error", True),
        ("mnist-semisupervised-1000", "1.60 ± 0.08", "test_error", True),
        ("mnist-semisupervised-all", "0.85 ± 0.02", "test_error", True),
        ("mnist-semisupervised-100-vat", "< 1.5 (beyond the paper)", "test_error", True),
        ("mnist-semisupervised-1000-vat", "1.60 ± 0.08 (the paper, without VAT)", "test_error", True),
    ],
    "table3": [
        ("mnist-clusters-16", "9.55 ± 2.05", "test_error", True),
        ("mnist-clusters-30", "4.10 ± 1.13", "test_error", True),
        ("mnist-clusters-16-terms-phase", "9.55 ± 2.05", "test_error", True),
        ("mnist-clusters-30-terms-phase", "4.10 ± 1.13", "test_error", True),
    ],
    "fig11": [
        ("mnist-dimred-2d-1000", "4.20", "test_error", True),
        ("mnist-dimred-2d-100", "6.08", "test_error", True),
        ("mnist-dimred-10d-100", "3.90", "test_error", True),
        ("mnist-dimred-2d-unsup-20", "~13.5", "test_error", True),
    ],
    "table1": [("mnist-gaussian-8d", "340 ± 2", "parzen_ll", False)],
    # the components alone, at their own papers' figures: the baselines of Table 2 and Table 3
    "components": [
        ("mnist-vat-100", "1.36 (VAT alone, Miyato et al. 2018)", "test_error", True),
        ("mnist-imsat-10", "1.6 ± 0.4 (IMSAT alone, Hu et al. 2017; Hungarian)", "test_error_hungarian", True),
        ("mnist-imsat-16", "9.55 ± 2.05 (the paper's AAE, Table 3)", "test_error", True),
    ],
    "fig7": [
        ("mnist-supervised-style", "the decoder uses the label", "label_use", False),
        ("mnist-supervised-style-paper", "the decoder uses the label", "label_use", False),
    ],
}


def git_commit() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "src"], cwd=ROOT, capture_output=True, text=True)
    return out.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def run_precision(preset: str, requested: str) -> str:
    """``requested`` as a run of ``preset`` on this machine's CPU takes it: ``auto`` resolves here,
    per preset (bf16 where it is fast and the preset's model has measured bf16 parity), so the
    recorded command names the precision the run trained in and a replay elsewhere uses the same."""
    import torch

    from aae.hardware import resolve_precision
    from aae.models import build_model
    from aae.presets import get_preset

    if requested != "auto":
        return requested
    model = build_model(get_preset(preset), 784, 10, (28, 28))
    return resolve_precision("auto", torch.device("cpu"), model.capabilities.bf16_parity)


def train_command(preset: str, seed: int, out: Path, args) -> list[str]:
    """The ``aae train`` command that trains exactly this run (data folder aside)."""
    cmd = ["aae", "train", preset, "--seed", str(seed), "--out", str(out), "--quiet"]
    cmd += ["--set", f"threads={args.threads}", "--set", f"precision={run_precision(preset, args.precision)}"]
    if args.epochs:
        cmd += ["--epochs", str(args.epochs)]
    return cmd


def expected_config(preset: str, seed: int, args) -> dict:
    """The config ``train_command`` trains with, as config.json stores it."""
    from aae.config import apply_overrides
    from aae.presets import get_preset

    sets = [f"seed={seed}", f"threads={args.threads}", f"precision={run_precision(preset, args.precision)}"]
    if args.epochs:
        sets.append(f"epochs={args.epochs}")
    return json.loads(json.dumps(apply_overrides(get_preset(preset), sets).to_dict()))


def stored_config(path: Path) -> dict:
    """A run's config.json in today's layout: keys added to the config since the run was trained
    take their defaults, so a new option does not make every finished run look stale; ``auto``
    precision reads as the precision the run's summary.json says it trained in."""
    from aae.runs.files import read_config

    cfg = json.loads(json.dumps(read_config(path).to_dict()))
    summary = path.with_name("summary.json")
    if cfg.get("precision") == "auto" and summary.is_file():
        # a run trained with precision=auto is the same run as one asking for what auto chose
        cfg["precision"] = json.loads(summary.read_text()).get("precision", "auto")
    return cfg


def _same_training(a: dict, b: dict) -> bool:
    """Configs that train the same run: ``name`` only labels a run (titles, default run folder)."""
    return {**a, "name": None} == {**b, "name": None}


def set_aside_if_stale(out: Path, expected: dict) -> None:
    """Move a run trained from another config out of the way, so it is neither reused nor resumed."""
    if not (out / "config.json").is_file() or _same_training(stored_config(out / "config.json"), expected):
        return
    n = 1
    while out.with_name(f"{out.name}-stale-{n}").exists():
        n += 1
    aside = out.with_name(f"{out.name}-stale-{n}")
    print(f"{out} was trained from another config than the preset gives now: moved to {aside}", flush=True)
    out.rename(aside)
    if start_commit_file(out).is_file():
        start_commit_file(out).rename(start_commit_file(aside))


def finished(out: Path) -> dict | None:
    """The run's summary if it finished all the epochs its config asks for."""
    if not (out / "summary.json").is_file():
        return None
    summary = json.loads((out / "summary.json").read_text())
    cfg = json.loads((out / "config.json").read_text())
    return summary if summary.get("epochs") == cfg.get("epochs") else None


def start_commit_file(out: Path) -> Path:
    """Where the commit a run started from is kept: beside the run directory, which ``aae train
    --overwrite`` replaces."""
    return out.with_name(f"{out.name}.commit")


def recorded_commit(out: Path, previous: dict | None, current: str) -> str:
    """The commit a run trained from: the one it started from (a resumed or reused run keeps it),
    else the one its earlier record names, else ``current``."""
    f = start_commit_file(out)
    if f.is_file():
        return f.read_text().strip()
    return (previous or {}).get("commit") or current


def run_one(preset: str, seed: int, args, commit: str) -> tuple[dict, list[str], Path]:
    name = f"{preset}-s{seed}" + (f"-e{args.epochs}" if args.epochs else "")
    out = args.runs / name
    cmd = train_command(preset, seed, out, args)
    set_aside_if_stale(out, expected_config(preset, seed, args))
    summary = finished(out)
    if summary is None:
        data = ["--data-dir", args.data_dir] if args.data_dir else []
        if (out / "checkpoint.json").is_file():
            run = [sys.executable, "-m", "aae", "train", "--resume", str(out), "--quiet", *data]
        else:
            run = [sys.executable, "-m", *cmd, "--overwrite", *data]
            out.parent.mkdir(parents=True, exist_ok=True)
            start_commit_file(out).write_text(commit + "\n")
        print(" ".join(run), flush=True)
        subprocess.run(run, check=True)
        summary = finished(out)
    return summary, cmd, out


def extra_metric(metric: str, out: Path, args) -> dict:
    """The table's own metric where ``aae train`` does not compute it."""
    summary = json.loads((out / "summary.json").read_text())
    if metric == "parzen_ll" and metric not in summary:
        data = ["--data-dir", args.data_dir] if args.data_dir else []
        subprocess.run([sys.executable, "-m", "aae", "eval", str(out), "--parzen", *data], check=True)
        summary = json.loads((out / "summary.json").read_text())
    if metric == "label_use" and metric not in summary:
        sys.path.insert(0, str(Path(__file__).parent))
        from supervised_style import label_use

        from aae.runs.files import update_summary

        # kept in summary.json, as `aae eval --parzen` keeps its figure: measured once per run
        use = 100 * label_use(str(out), args.data_dir, 500, 0)["label_use"]
        summary = update_summary(out, {"label_use": use})
    return {k: summary[k] for k in ("parzen_ll", "parzen_sem", "parzen_val_ll", "label_use") if k in summary}


def mean_std(values: list[float]) -> str:
    if not values:
        return "—"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def write_table(table: str, records: list[dict], path: Path) -> None:
    lines = [
        f"# {table}: the paper's figure and ours (mean ± std over seeds)",
        "",
        "| preset | paper | ours | metric | seeds | epochs | wall time per run | commit |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for preset, paper, metric, _ in TABLES[table]:
        rows = [r for r in records if r["preset"] == preset]
        if not rows:
            continue
        vals = [r[metric] for r in rows if r.get(metric) is not None]
        wall = statistics.mean(r["wall_s"] for r in rows) / 60
        commits = ", ".join(sorted({r["commit"] for r in rows}))
        seeds = ", ".join(str(r["seed"]) for r in sorted(rows, key=lambda r: r["seed"]))
        lines.append(
            f"| `{preset}` | {paper} | {mean_std(vals)} | {metric} | {seeds} | {rows[0]['epochs']} "
            f"| {wall:.0f} min | {commits} |"
        )
    lines += ["", "Commands (one per run; add `--data-dir DIR`):", ""]
    lines += [f"- `{r['command']}`" for r in sorted(records, key=lambda r: (r["preset"], r["seed"]))]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("table", choices=sorted(TABLES))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--only", nargs="*", help="presets of the table to run (default: all)")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads per run (recorded: curves depend on it)")
    ap.add_argument(
        "--precision",
        default="auto",
        choices=["auto", "float32", "bf16"],
        help="auto (default): per preset, as `aae train` chooses on this machine (recorded in the command)",
    )
    ap.add_argument("--epochs", type=int, default=0, help="a shortened replay (recorded nowhere); 0: full length")
    ap.add_argument("--runs", type=Path, default=Path("runs/reproduce"))
    ap.add_argument("--results", type=Path, default=ROOT / "results" / "reproduce")
    args = ap.parse_args()
    known = [p for p, *_ in TABLES[args.table]]
    unknown = sorted(set(args.only or []) - set(known))
    if unknown:
        ap.error(f"{unknown} are not in {args.table}: {known}")
    json_path = args.results / f"{args.table}.json"
    commit = git_commit()  # what runs started now train from; a resumed or reused run keeps its own
    for preset, _, metric, _ in TABLES[args.table]:
        if args.only and preset not in args.only:
            continue
        for seed in args.seeds:
            summary, cmd, out = run_one(preset, seed, args, commit)
            if args.epochs:
                print(f"{preset} seed {seed}: {args.epochs}-epoch replay in {out}")
                continue
            records = json.loads(json_path.read_text()) if json_path.is_file() else []
            previous = next((r for r in records if (r["preset"], r["seed"]) == (preset, seed)), None)
            record = {
                "preset": preset,
                "seed": seed,
                "epochs": summary["epochs"],
                "test_error": summary.get("test_error"),
                "val_error": summary.get("val_error"),
                "wall_s": summary["train_seconds"],
                "threads": args.threads,
                "commit": recorded_commit(out, previous, commit),
                "command": " ".join(cmd),
                **{k: v for k, v in summary.items() if k.startswith("ema_") and k.endswith("_error")},
                **{k: summary[k] for k in ("test_error_majority", "test_error_hungarian") if k in summary},
                **extra_metric(metric, out, args),
            }
            # re-read: other reproduce.py processes (other seeds, in parallel) may have written since
            records = json.loads(json_path.read_text()) if json_path.is_file() else []
            records = [r for r in records if (r["preset"], r["seed"]) != (preset, seed)] + [record]
            curve = args.results / "runs" / out.name / "metrics.jsonl"
            curve.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(out / "metrics.jsonl", curve)
            args.results.mkdir(parents=True, exist_ok=True)
            json_path.write_text(json.dumps(records, indent=1) + "\n")
            write_table(args.table, records, args.results / f"{args.table}.md")
            print(f"{preset} seed {seed}: {metric} = {record.get(metric)}", flush=True)


if __name__ == "__main__":
    main()
