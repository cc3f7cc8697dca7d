"""Run directories on disk: their layout, writing their files, and loading a trained model back.

A run directory holds::

    config.json            the resolved config
    model.safetensors      final weights (and, with data.standardize, the training split's
                           per-pixel mean and std as buffers)   model.json  (description, sha256, data shape)
    checkpoint-<step>.safetensors  full training state, named by checkpoint.json (at the start,
                           every ``checkpoint_minutes`` of training, every ``checkpoint_every``
                           steps, at epoch ends, and on SIGINT/SIGTERM)
    metrics.jsonl          one line per epoch: each phase's loss, discriminator accuracy, lr, time
    summary.json           final metrics on the test split, train_seconds, samples_per_second
                           (+ parzen_ll, parzen_sem, parzen_sigma, parzen_val_ll after ``aae eval --parzen``)
    report.html            after ``aae report``: the page with all of the above
    figures/*.png          latent scatter, manifold, samples, reconstructions, ...

``model.json`` and ``checkpoint.json`` also record where the data were read from
(``data_dir``), so that resuming, encoding or evaluating a run needs no ``--data-dir``.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from aae.checkpoints import atomic_write_bytes, atomic_write_json, load_tensors, save_tensors
from aae.config import Config, from_dict
from aae.distributed import World, broadcast_error
from aae.errors import AAEError
from aae.hardware import resolve_device
from aae.models import Model, build_model

RUN_FILES = (
    "config.json",
    "model.json",
    "model.safetensors",
    "checkpoint.json",
    "metrics.jsonl",
    "summary.json",
)


@dataclass
class Run:
    """A trained model with what it needs to be used: config, data shape, device, data location."""

    path: Path
    cfg: Config
    model: Model
    data_dim: int
    n_classes: int
    image_shape: tuple[int, ...] | None
    data_dir: str | None = None  # where the training data were read from (None: $AAE_DATA or the cache)


def prepare_run_dir(out: Path, resume: bool, overwrite: bool) -> None:
    """Create ``out``; refuse to write into a non-empty run directory unless asked to."""
    if out.exists() and not out.is_dir():
        raise AAEError(f"--out {out} exists and is not a directory")
    existing = [f for f in RUN_FILES if (out / f).exists()] if out.exists() else []
    if existing and not (resume or overwrite):
        raise AAEError(
            f"run directory {out} already holds a run ({', '.join(existing)}); "
            "pass --resume to continue it, --overwrite to replace it, or choose another --out"
        )
    if overwrite and not resume:
        for f in RUN_FILES:
            (out / f).unlink(missing_ok=True)
        for f in out.glob("checkpoint-*.safetensors"):
            f.unlink()
        shutil.rmtree(out / "figures", ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)


def model_meta(cfg: Config, data_meta: dict[str, Any]) -> dict[str, Any]:
    """What ``model.json`` records beside the weights: version, config, data shape and location."""
    from aae import __version__

    return {"aae_version": __version__, "config": cfg.to_dict(), **data_meta}


def save_model(out: Path, model: Model, cfg: Config, data_meta: dict[str, Any]) -> None:
    save_tensors(out / "model", model.state_dict(), model_meta(cfg, data_meta))


def save_checkpoint(out: Path, step: int, tensors: dict[str, torch.Tensor], meta: dict) -> None:
    """Write the training state as ``checkpoint-<step>.safetensors`` + ``checkpoint.json``.

    The JSON is replaced last (atomically), then older tensor files are removed, so a crash
    at any moment leaves one complete, verifiable checkpoint.
    """
    name = f"checkpoint-{step:09d}.safetensors"
    save_tensors(out / "checkpoint", tensors, meta, tensor_file=name)
    for old in out.glob("checkpoint-*.safetensors"):
        if old.name != name:
            old.unlink(missing_ok=True)


def on_main(fn, world: World) -> None:
    """Run ``fn`` on process 0 only; if it raises AAEError, every process raises it."""
    error = None
    if world.is_main:
        try:
            fn()
        except AAEError as e:
            error = str(e)
    error = broadcast_error(error, world)
    if error is not None:
        raise AAEError(error)


def write_metrics(out: Path, history: list[dict]) -> None:
    """Rewrite ``metrics.jsonl`` from the trainer's history (one line per completed epoch)."""
    atomic_write_bytes(out / "metrics.jsonl", "".join(json.dumps(m) + "\n" for m in history).encode())


def saved_config(d: dict[str, Any]) -> Config:
    """The config of a run directory from the complete dict it saved (``config.json``,
    ``model.json``): a run saved before ``data.split`` existed split its .npy/.npz file in
    file order, and keeps doing so when it is resumed or evaluated."""
    data = d.get("data") if isinstance(d, dict) else None
    if isinstance(data, dict) and "split" not in data:
        d = {**d, "data": {**data, "split": "file-order"}}
    return from_dict(Config, d)


def read_config(path: Path) -> Config:
    """The config saved in ``path`` (a run's config.json), in today's layout."""
    try:
        return saved_config(json.loads(path.read_text()))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise AAEError(f"{path}: not valid JSON ({e})") from e


def resume_config(out: Path, epochs: int | None = None) -> Config:
    """The saved config of run ``out``, with ``epochs`` changed if given.

    The run needs its ``config.json``; without a checkpoint it trains again from step 0.
    """
    out = Path(out)
    if not out.is_dir():
        raise AAEError(f"--resume: run directory {out} does not exist")
    path = out / "config.json"
    if not path.is_file():
        raise AAEError(f"--resume: {out} holds no config.json: not a run directory")
    cfg = read_config(path)
    if epochs is not None:
        cfg.epochs = epochs
    return cfg


def completed_epochs(out: Path) -> int | None:
    """The epochs a finished run trained: its last checkpoint's epoch, if ``summary.json`` is written; else None."""
    out = Path(out)
    if not (out / "summary.json").is_file():
        return None
    try:
        epoch = json.loads((out / "checkpoint.json").read_text()).get("epoch")
    except (OSError, AttributeError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return epoch if isinstance(epoch, int) else None


def checkpoint_data_dir(out: Path) -> str | None:
    """The ``data_dir`` a run's last checkpoint recorded (None if it recorded none)."""
    try:
        meta = json.loads((Path(out) / "checkpoint.json").read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    found = meta.get("data_dir") if isinstance(meta, dict) else None
    return found if isinstance(found, str) else None


def load_run(path: str | Path, device: str = "cpu") -> Run:
    """Load the final model of a run directory (safetensors + JSON only, verified)."""
    path = Path(path)
    if not path.is_dir():
        raise AAEError(f"run directory {path} does not exist")
    tensors, meta = load_tensors(path / "model")
    try:
        cfg = saved_config(meta["config"])
        data_dim, n_classes = int(meta["data_dim"]), int(meta["n_classes"])
    except (KeyError, TypeError, ValueError) as e:
        raise AAEError(f"{path / 'model.json'}: incomplete model description ({e})") from e
    shape = meta.get("image_shape")
    shape = tuple(shape) if shape else None
    model = build_model(cfg, data_dim, n_classes, shape)
    try:
        model.load_state_dict(tensors)
    except RuntimeError as e:
        raise AAEError(f"{path / 'model.safetensors'}: weights do not match the config in model.json: {e}") from e
    model.to(resolve_device(device)).eval()
    return Run(path, cfg, model, data_dim, n_classes, shape, meta.get("data_dir"))


def update_summary(path: Path, updates: dict[str, Any]) -> dict[str, Any]:
    """Merge ``updates`` into ``<path>/summary.json`` (written atomically, other keys kept); returns it."""
    f = Path(path) / "summary.json"
    summary: dict[str, Any] = {}
    if f.is_file():
        try:
            summary = json.loads(f.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise AAEError(f"{f}: not valid JSON ({e}); move it away to write a new one") from e
        if not isinstance(summary, dict):
            raise AAEError(f"{f}: expected a JSON object")
    summary.update(updates)
    atomic_write_json(f, summary)
    return summary


def timestamp_dir(preset: str) -> Path:
    return Path("runs") / f"{preset}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
