"""Experiment tracking: a run's per-epoch metrics, learning rates, figures and config to TensorBoard or MLflow.

:func:`make_tracker` returns a :class:`Tracker` that :func:`aae.runs.train_run` feeds (``tracker=``):
``log_epoch`` after every epoch (the row ``metrics.jsonl`` gets: losses, ``lr_<phase>``,
``val_error``...), ``log_summary`` and ``log_figures`` once training has finished, ``close`` at the
end whatever happened. Both back ends are optional extras (``pip install 'aae[tensorboard]'``,
``'aae[mlflow]'``); neither is needed to train, and asking for one that is not installed is an
:class:`~aae.errors.AAEError` naming the extra.

- ``tensorboard``: event files under ``<run>/tensorboard/``, one scalar per ``metrics.jsonl``
  column (tag = column name, step = epoch), ``summary/<key>`` for the test metrics, the figures
  as images and the config as text. A resumed run appends to the same folder; events from the
  epochs it repeats are purged by TensorBoard's reader (``purge_step``).
- ``mlflow``: one MLflow run per run directory, in the experiment named after ``cfg.name``: the
  flattened config as params, the metrics per epoch, the summary, the figures as artifacts under
  ``figures/``. The tracking URI defaults to ``sqlite:///<cwd>/mlruns/mlflow.db`` with artifacts
  under ``mlruns/artifacts`` (MLflow 3 refuses its old plain-folder store unless
  ``MLFLOW_ALLOW_FILE_STORE=true``); ``<run>/mlflow.json`` remembers the MLflow run so a resumed
  run keeps logging into it.

Nothing is created before the first call that logs something, so a run refused by its checks
leaves no event file and no MLflow run behind.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from aae.config import Config
from aae.errors import AAEError

#: the back ends :func:`make_tracker` knows
TRACKERS = ("tensorboard", "mlflow")

#: columns of metrics.jsonl that are not logged as metrics (the epoch is the step)
_NOT_METRICS = ("epoch",)


class Tracker:
    """What :func:`aae.runs.train_run` calls; this base class does nothing (subclass what you need)."""

    def log_epoch(self, metrics: dict[str, Any], step: int) -> None:
        """One epoch's row of ``metrics.jsonl``; ``step`` is the epoch number (1, 2, ...)."""

    def log_summary(self, summary: dict[str, Any]) -> None:
        """The test metrics of ``summary.json``, once training has finished."""

    def log_figures(self, paths: Iterable[Path]) -> None:
        """The PNG figures drawn at the end of training."""

    def close(self, status: str = "FINISHED") -> None:
        """``status``: ``FINISHED``, ``KILLED`` (stopped by a signal or ``on_epoch``; resumable) or ``FAILED``."""


def _numbers(metrics: dict[str, Any]) -> dict[str, float]:
    """The finite numeric values of a metrics row (bools and the epoch left out)."""
    out = {}
    for k, v in metrics.items():
        if k in _NOT_METRICS or isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        if math.isfinite(float(v)):
            out[k] = float(v)
    return out


def flatten_config(cfg: Config) -> dict[str, str]:
    """``{"network.code_dim": "10", "optim.recon.lr": "0.01", ...}``: a config as flat string params."""
    out: dict[str, str] = {}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict) and node:
            for k, v in node.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        else:
            out[prefix] = node if isinstance(node, str) else json.dumps(node)

    walk("", cfg.to_dict())
    return out


class TensorBoardTracker(Tracker):
    """Event files under ``<run>/tensorboard/`` (see the module docstring)."""

    def __init__(self, run_dir: str | Path, cfg: Config):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as e:
            raise AAEError(
                f"--log tensorboard needs the tensorboard package ({e}); "
                "install it with: pip install 'aae[tensorboard]'"
            ) from e
        self._writer_class = SummaryWriter
        self.log_dir = Path(run_dir) / "tensorboard"
        self.cfg = cfg
        self._writer = None
        self._last_step = 0

    def _open(self, step: int | None):
        if self._writer is None:
            # purge_step: events an earlier, interrupted process wrote from this epoch on are dropped by the reader
            self._writer = self._writer_class(str(self.log_dir), purge_step=step)
            text = json.dumps(self.cfg.to_dict(), indent=2)
            self._writer.add_text("config", "    " + text.replace("\n", "\n    "), step or 0)
        return self._writer

    def log_epoch(self, metrics: dict[str, Any], step: int) -> None:
        w = self._open(step)
        for k, v in _numbers(metrics).items():
            w.add_scalar(k, v, step)
        self._last_step = step
        w.flush()

    def log_summary(self, summary: dict[str, Any]) -> None:
        w = self._open(None)
        for k, v in _numbers(summary).items():
            w.add_scalar(f"summary/{k}", v, self._last_step)
        w.flush()

    def log_figures(self, paths: Iterable[Path]) -> None:
        from matplotlib.image import imread

        w = self._open(None)
        for p in paths:
            p = Path(p)
            if p.suffix.lower() != ".png" or not p.is_file():
                continue
            img = imread(p)
            if img.ndim == 2:
                img = img[:, :, None].repeat(3, axis=2)
            w.add_image(f"figures/{p.stem}", img[:, :, :3], self._last_step, dataformats="HWC")
        w.flush()

    def close(self, status: str = "FINISHED") -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def default_mlflow_uri() -> str:
    """``sqlite:///<cwd>/mlruns/mlflow.db``: a local database in ``mlruns/`` (the folder is created)."""
    folder = Path.cwd().resolve() / "mlruns"
    folder.mkdir(exist_ok=True)
    return f"sqlite:///{folder / 'mlflow.db'}"


class MLflowTracker(Tracker):
    """One MLflow run per run directory (see the module docstring)."""

    #: MLflow takes at most this many params or metrics per log_batch call
    BATCH = 100

    def __init__(self, run_dir: str | Path, cfg: Config, uri: str | None = None):
        try:
            import mlflow  # noqa: F401
        except ImportError as e:
            raise AAEError(
                f"--log mlflow needs the mlflow package ({e}); install it with: pip install 'aae[mlflow]'"
            ) from e
        self.run_dir = Path(run_dir)
        self.cfg = cfg
        self.uri = uri
        self.run_id: str | None = None
        self._client = None
        self._last_step = 0

    def _run(self) -> str:
        if self.run_id is not None:
            return self.run_id
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        default = self.uri is None
        uri = self.uri or default_mlflow_uri()
        try:
            client = MlflowClient(tracking_uri=uri)
            memo = self.run_dir / "mlflow.json"
            run_id = None
            if memo.is_file():  # a resumed run: keep logging into its MLflow run
                saved = json.loads(memo.read_text())
                if saved.get("tracking_uri") == uri:
                    try:
                        run_id = client.get_run(saved["run_id"]).info.run_id
                        client.update_run(run_id, status="RUNNING")
                    except MlflowException:
                        run_id = None
            if run_id is None:
                name = self.cfg.name
                exp = client.get_experiment_by_name(name)
                if exp is None:
                    location = None
                    if default:  # artifacts beside the database, not in the current folder's mlartifacts/
                        location = (Path(uri.removeprefix("sqlite:///")).parent / "artifacts" / name).as_uri()
                    exp_id = client.create_experiment(name, artifact_location=location)
                else:
                    exp_id = exp.experiment_id
                run = client.create_run(
                    exp_id, run_name=self.run_dir.name, tags={"aae.run_dir": str(self.run_dir.resolve())}
                )
                run_id = run.info.run_id
                from mlflow.entities import Param

                params = [Param(k, v) for k, v in flatten_config(self.cfg).items()]
                for i in range(0, len(params), self.BATCH):
                    client.log_batch(run_id, params=params[i : i + self.BATCH])
                self.run_dir.mkdir(parents=True, exist_ok=True)
                memo.write_text(json.dumps({"tracking_uri": uri, "run_id": run_id}) + "\n")
        except MlflowException as e:
            raise AAEError(f"MLflow tracking at {uri}: {e}") from e
        self._client, self.run_id = client, run_id
        return run_id

    def _log_numbers(self, values: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        run_id = self._run()
        now = int(time.time() * 1000)
        metrics = [Metric(k, v, now, step) for k, v in values.items()]
        for i in range(0, len(metrics), self.BATCH):
            self._client.log_batch(run_id, metrics=metrics[i : i + self.BATCH])

    def log_epoch(self, metrics: dict[str, Any], step: int) -> None:
        self._log_numbers(_numbers(metrics), step)
        self._last_step = step

    def log_summary(self, summary: dict[str, Any]) -> None:
        self._log_numbers({f"summary/{k}": v for k, v in _numbers(summary).items()}, self._last_step)

    def log_figures(self, paths: Iterable[Path]) -> None:
        run_id = self._run()
        for p in paths:
            if Path(p).is_file():
                self._client.log_artifact(run_id, str(p), artifact_path="figures")

    def close(self, status: str = "FINISHED") -> None:
        if self.run_id is not None:
            self._client.set_terminated(self.run_id, status=status)


class Trackers(Tracker):
    """Several trackers fed together (``--log tensorboard,mlflow``)."""

    def __init__(self, trackers: list[Tracker]):
        self.trackers = trackers

    def log_epoch(self, metrics: dict[str, Any], step: int) -> None:
        for t in self.trackers:
            t.log_epoch(metrics, step)

    def log_summary(self, summary: dict[str, Any]) -> None:
        for t in self.trackers:
            t.log_summary(summary)

    def log_figures(self, paths: Iterable[Path]) -> None:
        paths = list(paths)
        for t in self.trackers:
            t.log_figures(paths)

    def close(self, status: str = "FINISHED") -> None:
        for t in self.trackers:
            t.close(status)


def make_tracker(kind: str | None, run_dir: str | Path, cfg: Config, uri: str | None = None) -> Tracker | None:
    """The tracker ``--log KIND`` asks for: ``None``/``"none"`` (no tracking), ``"tensorboard"``,
    ``"mlflow"`` or both comma-separated. ``uri`` is MLflow's tracking URI (default: see
    :func:`default_mlflow_uri`; ``$MLFLOW_TRACKING_URI`` when set).

    Checks that the back ends are installed (an :class:`AAEError` naming the extra otherwise);
    writes nothing until the first epoch is logged.
    """
    if kind is None or kind == "none":
        if uri is not None:
            raise AAEError("--mlflow-uri needs --log mlflow")
        return None
    kinds = [k.strip() for k in kind.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in TRACKERS]
    if unknown or not kinds:
        raise AAEError(f"unknown --log {kind!r}; choose from {', '.join(TRACKERS)} (comma-separated for both)")
    if uri is not None and "mlflow" not in kinds:
        raise AAEError("--mlflow-uri needs --log mlflow")
    uri = uri or os.environ.get("MLFLOW_TRACKING_URI") or None
    made: list[Tracker] = []
    for k in dict.fromkeys(kinds):
        made.append(TensorBoardTracker(run_dir, cfg) if k == "tensorboard" else MLflowTracker(run_dir, cfg, uri))
    return made[0] if len(made) == 1 else Trackers(made)
