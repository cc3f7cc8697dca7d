"""Hyperparameter sweeps with Optuna: a directory with a ``sweep.toml``, one run directory per trial.

A sweep directory holds its definition, ``sweep.toml`` (:func:`load_definition`), the Optuna
study (by default the SQLite database ``study.db``; any database URL Optuna takes can be given
instead, so that several machines work on one study) and one ordinary run directory per trial,
``trials/<number>``, which can be reported, evaluated and resumed like any run.

- :func:`run_sweep` runs trials until the study holds ``trials`` finished (complete or pruned)
  ones; running it again continues the study. A trial whose process died (killed, machine
  lost) is marked failed and its parameters are tried once more: at once when it ran on this
  machine (its process id is gone), after Optuna's heartbeat grace period otherwise.
  ``jobs > 1`` runs that many worker processes on the shared storage, each trial with
  ``cores / jobs`` threads.
- Pruning (Optuna's median or successive-halving pruner, on by default) watches a per-epoch
  column of ``metrics.jsonl`` through :func:`aae.runs.train_run`'s ``on_epoch`` hook; a pruned
  trial's run stops with its checkpoint written.
- :func:`show_sweep` prints the best trials, draws Optuna's plots (matplotlib), writes the
  table as Markdown and the best trial's config as TOML (:func:`write_config_toml`) that
  ``aae train best.toml`` takes.

Optuna is an optional extra: ``pip install 'aae[sweep]'``.
"""

from aae.sweep.definition import (
    DIRECTIONS,
    DISTRIBUTIONS,
    MAX_FAILURES_IN_ROW,
    PRUNERS,
    SAMPLERS,
    SOURCES,
    STUDY_FILE,
    SWEEP_FILE,
    TRIALS_DIR,
    Objective,
    Param,
    Pruning,
    SweepDefinition,
    base_config,
    check_definition,
    load_definition,
    objective_value,
    parse_definition,
    start_sweep_dir,
    trial_config,
)
from aae.sweep.show import best_config, best_trials, draw_plots, format_table, markdown_table, show_sweep, trials_table
from aae.sweep.study import default_storage, fail_dead_trials, make_objective, open_study, run_sweep
from aae.sweep.toml import to_toml, write_config_toml

__all__ = [
    "DIRECTIONS",
    "DISTRIBUTIONS",
    "MAX_FAILURES_IN_ROW",
    "Objective",
    "PRUNERS",
    "Param",
    "Pruning",
    "SAMPLERS",
    "SOURCES",
    "STUDY_FILE",
    "SWEEP_FILE",
    "SweepDefinition",
    "TRIALS_DIR",
    "base_config",
    "best_config",
    "best_trials",
    "check_definition",
    "default_storage",
    "draw_plots",
    "fail_dead_trials",
    "format_table",
    "load_definition",
    "make_objective",
    "markdown_table",
    "objective_value",
    "open_study",
    "parse_definition",
    "run_sweep",
    "show_sweep",
    "start_sweep_dir",
    "to_toml",
    "trial_config",
    "trials_table",
    "write_config_toml",
]
