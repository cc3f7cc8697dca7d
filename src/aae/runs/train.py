"""Training a config into a run directory: checks first, then training with checkpoints,
signals and NaN rollback, then the final weights, test metrics and figures (layout: :mod:`aae.runs.files`)."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from aae.checkpoints import atomic_write_json, load_tensors
from aae.config import Config, save_config
from aae.data import Standardizer, load_splits
from aae.distributed import World, init_from_env, shutdown
from aae.errors import AAEError
from aae.hardware import resolve_device
from aae.models import Model, build_model, check_config
from aae.networks import set_standardization
from aae.runs.evaluate import can_score, error_percent, evaluate, predict_split, val_hungarian_error
from aae.runs.figures import draw_figures
from aae.runs.files import (
    Run,
    checkpoint_data_dir,
    on_main,
    prepare_run_dir,
    save_checkpoint,
    save_model,
    write_metrics,
)
from aae.training import NumericalFault, Trainer

if TYPE_CHECKING:
    from aae.tracking import Tracker


def train_run(
    cfg: Config,
    out: Path,
    data_dir: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool | None = None,
    log=print,
    on_epoch: Callable[[dict], bool] | None = None,
    tracker: Tracker | None = None,
) -> dict[str, Any]:
    """Train ``cfg`` into run directory ``out``; returns the summary (also written to summary.json).

    Everything that can fail on bad input (config, data, prior) is checked before anything
    is written to ``out``. With ``resume=True``, ``cfg`` must be the run's saved config (see
    :func:`resume_config`; only ``epochs`` may differ) and training continues exactly from
    the last checkpoint (or starts from step 0 if the run has none yet). Checkpoints are
    written at the start, every ``cfg.checkpoint_minutes`` of training, every
    ``cfg.checkpoint_every`` steps and at epoch ends. SIGINT/SIGTERM stop after the current
    step with a checkpoint written (:class:`TrainingStopped`). ``progress=None`` shows a
    progress bar on a terminal.

    ``on_epoch(metrics)`` is called after each epoch with its complete ``metrics.jsonl`` row
    (process 0 only); returning False stops training there, like a signal: the epoch's
    checkpoint is written and :class:`TrainingStopped` is raised (the run stays resumable). A
    ``tracker`` (:func:`aae.tracking.make_tracker`) gets every epoch's metrics, then the summary
    and the figures; it is closed at the end whatever happens.
    """
    if progress is None:
        progress = sys.stderr.isatty()
    out = Path(out)
    check_config(cfg)  # every value, before any file is written
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    world, device = init_from_env(resolve_device(cfg.device))
    status = "FAILED"
    try:
        summary = _train(cfg, out, data_dir, resume, overwrite, progress, log, world, device, on_epoch, tracker)
        status = "FINISHED"
        return summary
    except TrainingStopped:
        status = "KILLED"
        raise
    finally:
        if tracker is not None:
            tracker.close(status)
        shutdown()


def where(trainer: Trainer, epochs: int) -> str:
    """Where training stands, in the words both the stop and the resume messages use: epochs are
    counted from 1, ``step`` is the number of optimizer steps done."""
    if trainer.batch == 0:
        return f"after epoch {trainer.epoch} of {epochs}, step {trainer.step}"
    return f"in epoch {trainer.epoch + 1} of {epochs} ({trainer.batch} batches done), step {trainer.step}"


def _train(
    cfg, out, data_dir, resume, overwrite, progress, log, world: World, device, on_epoch=None, tracker=None
) -> dict[str, Any]:
    if not world.is_main:  # process 0 speaks and writes files for all
        progress, log = False, (lambda *a: None)
    if data_dir is None and resume:
        data_dir = checkpoint_data_dir(out)  # a run remembers where its data came from
    d = cfg.data
    splits = load_splits(
        d.dataset, data_dir, d.validation, d.n_labeled, d.labels_drawn_by(cfg.seed), fold=d.fold, split=d.split
    )
    torch.manual_seed(cfg.seed)  # weight initialisation
    model = build_model(cfg, splits.data_dim, splits.n_classes, splits.image_shape, check=False)  # checked above
    check_data_range(cfg, splits, model)
    if cfg.data.standardize:
        # per-pixel statistics of the training split only, stored in the model's buffers (and so
        # in model.safetensors and every checkpoint); the stored data stay as they are (uint8)
        st = Standardizer.fit(splits.x_train)
        set_standardization(model, st.mean, st.std)
    model = model.to(device)
    trainer = Trainer(model, cfg, splits.x_train.to(device), splits.y_train.to(device), world)
    data_meta = {
        "data_dim": splits.data_dim,
        "n_classes": splits.n_classes,
        "image_shape": splits.image_shape,
        "data_dir": str(Path(data_dir).resolve()) if data_dir else None,
    }

    from_checkpoint = resume and (out / "checkpoint.json").is_file()
    if from_checkpoint:
        tensors, meta = load_tensors(out / "checkpoint")
        trainer.load_state_tensors(tensors, meta)
        log(f"resumed {out} {where(trainer, cfg.epochs)}")
    elif resume:
        log(f"{out} holds no checkpoint yet: training from step 0 with its saved config")

    def start_files() -> None:
        prepare_run_dir(out, resume, overwrite)
        save_config(cfg, out / "config.json")  # on resume: records a changed number of epochs
        write_metrics(out, trainer.history)

    on_main(start_files, world)

    def as_run(m: Model) -> Run:
        return Run(out, cfg, m, splits.data_dim, splits.n_classes, splits.image_shape, data_meta["data_dir"])

    asked: list = []  # why on_epoch stopped training: (name, 0)

    def on_epoch_end(m: dict) -> None:
        if world.is_main:
            if model.capabilities.predicts and can_score(splits):
                # a learning curve of the classifier (validation only: the test split stays unseen)
                m["val_error"] = error_percent(predict_split(as_run(model), splits, "val"), splits.y_val)
                if model.capabilities.clusters:  # the clustering literature's score, on validation
                    m["val_error_hungarian"] = val_hungarian_error(as_run(model), splits)
                if trainer.ema is not None:
                    m["ema_val_error"] = error_percent(
                        predict_split(as_run(trainer.ema.module), splits, "val"), splits.y_val
                    )
            write_metrics(out, trainer.history)
            if tracker is not None:
                tracker.log_epoch(m, m["epoch"])
            if on_epoch is not None and on_epoch(dict(m)) is False:
                asked[:] = ["on_epoch", 0]
                trainer.stop_requested = True  # shared with every process at the checkpoint
        shown = (*model.metrics, "val_error", "val_error_hungarian", "ema_val_error")
        parts = [f"{k}={m[k]:.4g}" for k in shown if k in m and k != "classify_acc"]
        log(
            f"epoch {m['epoch']}/{cfg.epochs} "
            + " ".join(parts)
            + f" ({m['seconds']:.1f}s, {m['samples_per_second']:.0f} samples/s)"
        )

    def on_checkpoint(t: Trainer) -> None:
        tensors, meta = t.state_tensors()  # collective in a distributed run: every process calls it
        if world.is_main:
            save_checkpoint(out, t.step, tensors, {**meta, **data_meta, "world_size": world.size})
        if t.stop_requested and t.batch == 0 and 0 < t.epoch < cfg.epochs:
            raise _StopAtEpochEnd  # asked for during the epoch's end: stop before the next epoch begins

    if not from_checkpoint:
        # step 0: a run stopped before its first timed checkpoint resumes too, with its data_dir
        on_checkpoint(trainer)
    rollbacks = 0
    with stop_on_signals(trainer) as caught:
        while True:
            try:
                finished = trainer.fit(
                    cfg.epochs, progress, on_epoch_end, on_checkpoint, cfg.checkpoint_every, cfg.checkpoint_minutes
                )
                break
            except _StopAtEpochEnd:
                finished = False
                break
            except NumericalFault as fault:
                if cfg.on_nan != "rollback" or rollbacks >= MAX_ROLLBACKS or not (out / "checkpoint.json").is_file():
                    raise AAEError(fault_message(fault, out, cfg, splits.x_train)) from fault
                rollbacks += 1
                tensors, meta = load_tensors(out / "checkpoint")
                scale = trainer.lr_scale / 2
                trainer.load_state_tensors(tensors, meta)
                trainer.lr_scale = scale
                log(
                    f"{fault}: rolled back to step {trainer.step}, learning rates x{scale:g} "
                    f"(rollback {rollbacks}/{MAX_ROLLBACKS})"
                )
    if not finished:
        caught = caught or asked or ["another process", 0]
        raise TrainingStopped(
            f"stopped by {caught[0]} {where(trainer, cfg.epochs)}; checkpoint written to "
            f"{out}. Resume with: aae train --resume {out}",
            signum=caught[1],
        )
    if not world.is_main:
        return {}
    save_model(out, model, cfg, data_meta)
    run = as_run(model)
    summary = evaluate(run, splits)
    if trainer.ema is not None:  # the averaged weights, beside the trained ones
        summary.update({f"ema_{k}": v for k, v in evaluate(as_run(trainer.ema.module), splits).items()})
    summary.update(
        train_seconds=trainer.train_seconds,
        epochs=trainer.epoch,
        precision=trainer.precision,
        samples_per_second=trainer.step * cfg.batch_size / max(trainer.train_seconds, 1e-9),
    )
    atomic_write_json(out / "summary.json", summary)
    figures = draw_figures(run, splits)
    if tracker is not None:
        tracker.log_summary(summary)
        tracker.log_figures(figures)
    return summary


MAX_ROLLBACKS = 5


def check_data_range(cfg: Config, splits, model: Model) -> None:
    """Refuse float training data outside [0, 1] for a decoder whose sigmoid output (or binary
    cross-entropy) cannot produce it: such data train into NaN within a few steps, and the cure
    is the data's scale, not the learning rate. Naming the range found and the two fixes."""
    x = splits.x_train
    if not model.capabilities.codes or x.dtype == torch.uint8 or cfg.data.standardize:
        return
    if cfg.network.output != "sigmoid" and cfg.recon_loss != "bce":
        return
    lo, hi = float(x.min()), float(x.max())
    if lo < 0 or hi > 1:
        raise AAEError(
            f"data {cfg.data.dataset!r}: the training data range over [{lo:.4g}, {hi:.4g}], outside the [0, 1] that "
            "the decoder's sigmoid output can produce; scale them to [0, 1] (e.g. x / 255 for 8-bit pixels, or store "
            "them as uint8), or train with --set data.standardize=true --set network.output=linear"
        )


def fault_message(fault: NumericalFault, out: Path, cfg: Config, x: torch.Tensor) -> str:
    """What a run that trained into NaN/Inf tells its user: the fault, the training data's range
    when it lies outside [0, 1] (unscaled data are the likelier cause than a learning rate), and
    exactly how to train again."""
    msg = str(fault)
    if x.dtype != torch.uint8 and not cfg.data.standardize and len(x):
        lo, hi = float(x.min()), float(x.max())
        if lo < -1 or hi > 2:
            msg += (
                f". The training data range over [{lo:.4g}, {hi:.4g}], far from [0, 1]: a likelier cause than the "
                "learning rate; scale them (e.g. x / 255) or add --set data.standardize=true"
            )
    return (
        f"{msg}. The last good checkpoint in {out} is untouched; to train again with a change, rerun the same "
        "command with the change and --overwrite (--resume continues with the same settings)"
    )


class _StopAtEpochEnd(Exception):
    """Raised after an epoch's checkpoint when a stop was asked for during that epoch's end."""


class TrainingStopped(AAEError):
    """Training stopped on a signal, after writing a checkpoint; ``exit_code`` is 128 + signal number."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.exit_code = 128 + signum


@contextmanager
def stop_on_signals(trainer: Trainer):
    """While inside, SIGINT/SIGTERM ask ``trainer`` to stop after its current step.

    Yields a list that receives (signal name, number). A second SIGINT interrupts at once.
    Does nothing outside the main thread, where handlers cannot be installed.
    """
    caught: list = []
    if threading.current_thread() is not threading.main_thread():
        yield caught
        return

    def handler(signum, frame):
        if caught and signum == signal.SIGINT:
            raise KeyboardInterrupt
        caught[:] = [signal.Signals(signum).name, signum]
        trainer.stop_requested = True

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield caught
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
