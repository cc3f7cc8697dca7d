"""The results of a sweep: the best trials as a table (text or Markdown), Optuna's plots, the best config."""

import dataclasses
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from aae.config import Config
from aae.errors import AAEError
from aae.sweep.definition import (
    TRIALS_DIR,
    SweepDefinition,
    _optuna,
    base_config,
    load_definition,
    trial_config,
)
from aae.sweep.study import (
    _format,
    open_study,
)
from aae.sweep.toml import write_config_toml


def _last_intermediate(t) -> tuple[int | None, float | None]:
    if not t.intermediate_values:
        return None, None
    step = max(t.intermediate_values)
    return step, t.intermediate_values[step]


def best_trials(study, top: int = 10) -> list:
    """The ``top`` best finished trials: complete ones by value, then pruned ones by their last reported value."""
    optuna = _optuna()
    sign = 1.0 if study.direction == optuna.study.StudyDirection.MINIMIZE else -1.0
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    pruned = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.PRUNED,))
    complete = sorted(complete, key=lambda t: sign * t.value)

    def last(t) -> tuple[bool, float]:
        value = _last_intermediate(t)[1]
        return value is None, sign * (value or 0.0)

    pruned = sorted(pruned, key=last)
    return (complete + pruned)[:top]


def trials_table(defn: SweepDefinition, trials: list) -> tuple[list[str], list[list[str]]]:
    """Header and rows: trial, state, value, epochs trained, minutes, then one column per searched key."""
    keys = [p.key for p in defn.search]
    header = ["trial", "state", defn.objective.metric, "epochs", "minutes", *keys]
    rows = []
    for t in trials:
        step, last = _last_intermediate(t)
        value = t.value if t.state.name == "COMPLETE" else last
        minutes = t.duration.total_seconds() / 60 if t.duration is not None else None
        params = []
        for k in keys:
            p = defn.param(k)
            params.append(_format(p.decode(t.params[k])) if k in t.params else "")
        rows.append(
            [
                str(t.number),
                t.state.name.lower(),
                "" if value is None else _format(float(value)),
                "" if step is None else str(step),
                "" if minutes is None else f"{minutes:.2f}",
                *params,
            ]
        )
    return header, rows


def format_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    def cell(s: str) -> str:
        return s.replace("|", "\\|")

    numeric = [all(_is_number(r[i]) for r in rows if r[i]) and i != 1 for i in range(len(header))]
    lines = ["| " + " | ".join(f"`{h}`" if "." in h or "_" in h else h for h in header) + " |"]
    lines.append("|" + "|".join("---:" if n else "---" for n in numeric) + "|")
    lines += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def draw_plots(study, folder: Path, log=print) -> list[Path]:
    """Optuna's standard plots (matplotlib) as PNG files in ``folder``; a plot that cannot be
    drawn yet (too few finished trials) is skipped with a message."""
    optuna = _optuna()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as ovm

    folder.mkdir(parents=True, exist_ok=True)
    plots = {
        "optimization_history": ovm.plot_optimization_history,
        "param_importances": ovm.plot_param_importances,
        "parallel_coordinate": ovm.plot_parallel_coordinate,
        "intermediate_values": ovm.plot_intermediate_values,
    }
    written = []
    for name, fn in plots.items():
        path = folder / f"{name}.png"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ax = fn(study)
            fig = (ax.flat[0] if isinstance(ax, np.ndarray) else ax).figure  # one Axes, or a grid of them
            fig.set_size_inches(9, 5.5)
            fig.tight_layout()
            fig.savefig(path, dpi=100)
            plt.close(fig)
            written.append(path)
        except (ValueError, RuntimeError, ZeroDivisionError, IndexError, optuna.exceptions.OptunaError) as e:
            log(f"{name}: not drawn ({type(e).__name__}: {e})")
            plt.close("all")
    return written


def best_config(defn: SweepDefinition, study) -> tuple[Config, Any]:
    """The config the best complete trial trained (its run's config.json), with the base
    config's ``threads``; and that trial."""
    from aae.runs.files import read_config

    try:
        best = study.best_trial
    except ValueError as e:
        raise AAEError(f"study {defn.name!r} has no complete trial yet") from e
    path = defn.directory / TRIALS_DIR / str(best.number) / "config.json"
    if path.is_file():
        cfg = read_config(path)
    else:  # the trial ran elsewhere (a shared storage): rebuild its config from the definition
        cfg = trial_config(defn, {p.key: p.decode(best.params[p.key]) for p in defn.search if p.key in best.params})
    cfg = dataclasses.replace(cfg, threads=base_config(defn).threads)
    return cfg, best


def show_sweep(
    sweep_dir: str | Path,
    storage: str | None = None,
    top: int = 10,
    plots: Path | None | bool = True,
    best_config_path: str | Path | None = None,
    markdown: str | Path | None = None,
    log=print,
) -> str:
    """Print the best trials; draw the plots (into ``plots``, default ``<sweep>/plots``); write the
    table as Markdown and the best config as TOML when asked. Returns the printed table."""
    defn = load_definition(sweep_dir)
    study, _ = open_study(defn, storage, create=False)
    counts: dict[str, int] = {}
    for t in study.get_trials(deepcopy=False):
        counts[t.state.name.lower()] = counts.get(t.state.name.lower(), 0) + 1
    obj = defn.objective
    what = f"{obj.source} {obj.metric}" if obj.source != "summary" else f"{obj.metric} of summary.json"
    head = (f"study {defn.name!r}: {obj.direction} {what}; "
            + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))  # fmt: skip
    header, rows = trials_table(defn, best_trials(study, top))
    table = format_table(header, rows)
    log(head)
    log(table)
    if markdown is not None:
        Path(markdown).write_text(markdown_table(header, rows))
        log(f"wrote {markdown}")
    if best_config_path is not None:
        path = Path(best_config_path)
        if path.suffix != ".toml":
            raise AAEError(f"--best-config {path} must end in .toml")
        cfg, best = best_config(defn, study)
        note = f"best trial {best.number} of sweep {defn.name!r}: {obj.metric} = {best.value:.6g}"
        write_config_toml(cfg, path, note)
        log(f"wrote {path} (trial {best.number}); train it with: aae train {path}")
    if plots:
        folder = Path(sweep_dir) / "plots" if plots is True else Path(plots)
        if counts.get("complete"):
            for p in draw_plots(study, folder, log):
                log(f"wrote {p}")
        else:
            log("no complete trial yet: no plots")
    return table
