"""Validation error against training time for several runs, in one figure (the attempts of a recipe).

    python benchmarks/attempt_curves.py LABEL=RUN_OR_METRICS [LABEL=... ...] -o results/reproduce/table2-curves.png
        [--metric val_error] [--ema] [--title TEXT] [--paper 1.90]

Each argument is a label and a run directory or a ``metrics.jsonl`` file. The x axis is the run's
cumulative training time (hours, from the per-epoch ``seconds``), so recipes that cost more per
epoch are compared fairly; ``--ema`` also draws ``ema_<metric>`` dashed where a run has it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from aae.errors import exit_on_error  # noqa: E402


def read_curve(path: Path) -> list[dict]:
    f = path / "metrics.jsonl" if path.is_dir() else path
    if not f.is_file():
        exit_on_error(f"no metrics.jsonl at {path}")
    return [json.loads(line) for line in f.read_text().splitlines() if line.strip()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", metavar="LABEL=PATH")
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--metric", default="val_error")
    ap.add_argument("--ema", action="store_true", help="also draw ema_<metric> where present (dashed)")
    ap.add_argument("--title", default="Validation error against training time")
    ap.add_argument("--paper", type=float, help="the paper's figure, drawn as a horizontal line")
    args = ap.parse_args()
    fig, ax = plt.subplots(figsize=(9, 5.5))
    for item in args.runs:
        label, sep, path = item.partition("=")
        if not sep:
            exit_on_error(f"expected LABEL=PATH, got {item!r}")
        rows = [m for m in read_curve(Path(path)) if args.metric in m]
        hours, t = [], 0.0
        for m in rows:
            t += m["seconds"] / 3600
            hours.append(t)
        (line,) = ax.plot(hours, [m[args.metric] for m in rows], label=f"{label} ({len(rows)} epochs)")
        ema = [m.get(f"ema_{args.metric}") for m in rows]
        if args.ema and any(v is not None for v in ema):
            ax.plot(hours, ema, ls="--", color=line.get_color(), label=f"{label}, weight average")
    if args.paper is not None:
        ax.axhline(args.paper, color="k", lw=1, ls=":", label=f"paper: {args.paper:g}")
    ax.set_xlabel("training time (hours, one CPU thread)")
    ax.set_ylabel(f"{args.metric} (%)")
    ax.set_title(args.title)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    fig.tight_layout()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.output, dpi=110)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
