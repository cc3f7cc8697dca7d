"""The ``aae sweep`` command (``run``, ``show``) and the ``--log`` / ``--mlflow-uri`` options of ``aae train``.

:func:`add_parser` adds ``sweep`` to the ``aae`` command's subparsers and :func:`cmd_sweep` runs
it; :func:`add_tracking_arguments` adds the tracking options to a parser (``aae train``,
``aae sweep run``). The work is done by :mod:`aae.sweep` and :mod:`aae.tracking`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from aae.errors import AAEError


def add_tracking_arguments(p: argparse.ArgumentParser) -> None:
    """``--log tensorboard|mlflow`` and ``--mlflow-uri URI``."""
    p.add_argument(
        "--log",
        metavar="tensorboard|mlflow",
        help="also log metrics, learning rates and figures to TensorBoard (<run>/tensorboard/) or MLflow "
        "(comma-separated for both); needs the extra of that name, e.g. pip install 'aae[tensorboard]'",
    )
    p.add_argument(
        "--mlflow-uri",
        metavar="URI",
        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else the database mlruns/mlflow.db here)",
    )


def _sweep_command(sub, name: str, storage_help: str, **kwargs) -> argparse.ArgumentParser:
    """A ``sweep`` action on one sweep directory (its first argument), with ``--storage``."""
    q = sub.add_parser(name, **kwargs)
    q.add_argument("dir", type=Path, metavar="DIR", help="sweep directory (holds sweep.toml)")
    q.add_argument("--storage", metavar="URL", help=storage_help)
    return q


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``sweep`` (with its actions ``run`` and ``show``) to ``subparsers``; returns its parser."""
    p = subparsers.add_parser(
        "sweep",
        help="hyperparameter sweeps with Optuna: run a study of trials, show its best ones",
        description="A sweep is a directory holding sweep.toml (base preset or config, search space, "
        "objective, trials, epochs per trial), the Optuna study (study.db) and one run directory per "
        "trial (trials/<number>). See docs/sweeps.md.",
    )
    sub = p.add_subparsers(dest="sweep_command", required=True, metavar="ACTION")

    q = _sweep_command(
        sub,
        "run",
        "Optuna storage (default: sqlite:///DIR/study.db); a database URL such as "
        "postgresql://user:pass@host/db lets several machines work on one study",
        help="run trials until the study holds the number asked for; running it again continues the study",
        description="Run the sweep in DIR. Trials pruned on their per-epoch validation metric stop early; "
        "a trial whose process died is marked failed and its parameters are tried once more.",
    )
    q.add_argument(
        "--from",
        dest="definition",
        type=Path,
        metavar="TOML",
        help="start the sweep: copy this definition to DIR/sweep.toml (e.g. benchmarks/sweeps/*.toml)",
    )
    q.add_argument(
        "--jobs", type=int, default=1, metavar="N", help="trials run at once on this machine, each with cores/N threads"
    )
    q.add_argument("--trials", type=int, metavar="N", help="finished trials to reach (default: trials in sweep.toml)")
    q.add_argument("--data-dir", metavar="DIR", help="folder holding mnist/, fashion-mnist/, ... (see `aae data list`)")
    q.add_argument("--quiet", action="store_true", help="one line per trial, no per-epoch lines")
    add_tracking_arguments(q)

    q = _sweep_command(
        sub,
        "show",
        "Optuna storage (default: sqlite:///DIR/study.db)",
        help="print the best trials; write Optuna's plots, the table as Markdown, the best config as TOML",
        description="Print the best trials of the sweep in DIR as a table and draw Optuna's plots "
        "(optimization history, parameter importances, parallel coordinates, learning curves) into DIR/plots.",
    )
    q.add_argument("--top", type=int, default=10, metavar="N", help="number of trials in the table")
    q.add_argument("--plots", type=Path, metavar="FOLDER", help="folder for the plots (default: DIR/plots)")
    q.add_argument("--no-plots", action="store_true", help="draw no plots")
    q.add_argument("--markdown", type=Path, metavar="FILE", help="also write the table as Markdown to FILE")
    q.add_argument(
        "--best-config",
        type=Path,
        metavar="FILE.toml",
        help="write the best trial's config as TOML, ready for `aae train FILE.toml`",
    )
    return p


def cmd_sweep(args) -> int:
    from aae.sweep import run_sweep, show_sweep, start_sweep_dir

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    if args.sweep_command == "run":
        if args.definition is not None:
            start_sweep_dir(args.dir, args.definition)
        run_sweep(
            args.dir,
            storage=args.storage,
            jobs=args.jobs,
            trials=args.trials,
            data_dir=args.data_dir,
            track=args.log,
            mlflow_uri=args.mlflow_uri,
            log=log,
            verbose=not args.quiet,
        )
        return 0
    if args.top < 1:
        raise AAEError(f"--top must be >= 1, got {args.top}")
    for out in (args.markdown, args.best_config):
        if out is not None and not out.parent.is_dir():
            raise AAEError(f"output folder {out.parent} does not exist")
    show_sweep(
        args.dir,
        storage=args.storage,
        top=args.top,
        plots=False if args.no_plots else (args.plots or True),
        best_config_path=args.best_config,
        markdown=args.markdown,
        log=print,
    )
    return 0
