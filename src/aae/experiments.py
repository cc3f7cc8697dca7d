"""Run directories: train a config into one, load a trained model back, evaluate it, draw its figures.

A run directory holds::

    config.json            the resolved config
    model.safetensors      final weights (and, with data.standardize, the training split's
                           per-pixel mean and std as buffers)   model.json  (description, sha256, data shape)
    checkpoint-<step>.safetensors  full training state, named by checkpoint.json (epoch ends,
                           every ``checkpoint_every`` steps, and on SIGINT/SIGTERM)
    metrics.jsonl          one line per epoch: each phase's loss, discriminator accuracy, lr, time
    summary.json           final metrics on the test split, train_seconds, samples_per_second
                           (+ parzen_ll, parzen_sem, parzen_sigma after ``aae eval --parzen``)
    report.html            after ``aae report``: the page with all of the above
    figures/*.png          latent scatter, manifold, samples, reconstructions
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aae import plots
from aae.checkpoints import atomic_write_bytes, atomic_write_json, load_tensors, save_tensors
from aae.classification import cluster_labels, error_percent, predict_labels, predict_proba
from aae.config import Config, from_dict, save_config
from aae.data import Splits, Standardizer, as_float, load_splits
from aae.distributed import World, broadcast_error, init_from_env, shutdown
from aae.errors import AAEError
from aae.metrics import batched, label_match_fraction, parzen_evaluate, prior_mmd, reconstruction_mse
from aae.models import Autoencoder, build_model, build_prior
from aae.networks import set_standardization
from aae.priors import Gaussian
from aae.training import NumericalFault, Trainer, resolve_device

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
    """A trained model with what it needs to be used: config, data shape, device."""

    path: Path
    cfg: Config
    model: torch.nn.Module
    data_dim: int
    n_classes: int
    image_shape: tuple[int, ...] | None


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


def _model_meta(cfg: Config, splits_like: dict[str, Any]) -> dict[str, Any]:
    from aae import __version__

    return {"aae_version": __version__, "config": cfg.to_dict(), **splits_like}


def train_run(
    cfg: Config,
    out: Path,
    data_dir: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool | None = None,
    log=print,
) -> dict[str, Any]:
    """Train ``cfg`` into run directory ``out``; returns the summary (also written to summary.json).

    Everything that can fail on bad input (config, data, prior) is checked before anything
    is written to ``out``. With ``resume=True``, ``cfg`` must be the run's saved config (see
    :func:`resume_config`; only ``epochs`` may differ) and training continues exactly from
    the last checkpoint. SIGINT/SIGTERM stop after the current step with a checkpoint
    written (:class:`TrainingStopped`). ``progress=None`` shows a progress bar on a terminal.
    """
    if progress is None:
        progress = sys.stderr.isatty()
    out = Path(out)
    if cfg.on_nan not in ("stop", "rollback"):
        raise AAEError(f"on_nan must be 'stop' or 'rollback', got {cfg.on_nan!r}")
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    world, device = init_from_env(resolve_device(cfg.device))
    try:
        return _train(cfg, out, data_dir, resume, overwrite, progress, log, world, device)
    finally:
        shutdown()


def _train(cfg, out, data_dir, resume, overwrite, progress, log, world: World, device) -> dict[str, Any]:
    if not world.is_main:  # process 0 speaks and writes files for all
        progress, log = False, (lambda *a: None)
    build_prior(cfg)  # a bad prior fails here, before the data are read
    splits = load_splits(
        cfg.data.dataset, data_dir, cfg.data.validation, cfg.data.n_labeled, cfg.seed, fold=cfg.data.fold
    )
    torch.manual_seed(cfg.seed)  # weight initialisation
    model = build_model(cfg, splits.data_dim, splits.n_classes, splits.image_shape)
    if cfg.data.standardize:
        # per-pixel statistics of the training split only, stored in the model's buffers (and so
        # in model.safetensors and every checkpoint); the stored data stay as they are (uint8)
        st = Standardizer.fit(splits.x_train)
        set_standardization(model, st.mean, st.std)
    model = model.to(device)
    trainer = Trainer(model, cfg, splits.x_train.to(device), splits.y_train.to(device), world)
    data_meta = {"data_dim": splits.data_dim, "n_classes": splits.n_classes, "image_shape": splits.image_shape}

    if resume:
        tensors, meta = load_tensors(out / "checkpoint")
        trainer.load_state_tensors(tensors, meta)
        log(f"resumed {out} at epoch {trainer.epoch}, step {trainer.step}")

    def start_files() -> None:
        prepare_run_dir(out, resume, overwrite)
        save_config(cfg, out / "config.json")  # on resume: records a changed number of epochs
        write_metrics(out, trainer.history)

    on_main(start_files, world)

    def on_epoch_end(m: dict) -> None:
        if world.is_main:
            if hasattr(model, "predict_proba") and len(splits.y_val) and bool((splits.y_val >= 0).all()):
                # a learning curve of the classifier (validation only: the test split stays unseen)
                run = Run(out, cfg, model, splits.data_dim, splits.n_classes, splits.image_shape)
                m["val_error"] = error_percent(predict_split(run, splits, "val"), splits.y_val)
            write_metrics(out, trainer.history)
        keys = ("recon_loss", "disc_loss", "gen_loss", "disc_acc", "mmd", "kl", "classify_loss", "head_penalty")
        parts = [f"{k}={m[k]:.4g}" for k in (*keys, "val_error") if k in m]
        log(
            f"epoch {m['epoch']}/{cfg.epochs} "
            + " ".join(parts)
            + f" ({m['seconds']:.1f}s, {m['samples_per_second']:.0f} samples/s)"
        )

    def on_checkpoint(t: Trainer) -> None:
        tensors, meta = t.state_tensors()  # collective in a distributed run: every process calls it
        if world.is_main:
            save_checkpoint(out, t.step, tensors, {**meta, **data_meta, "world_size": world.size})

    rollbacks = 0
    with stop_on_signals(trainer) as caught:
        while True:
            try:
                finished = trainer.fit(cfg.epochs, progress, on_epoch_end, on_checkpoint, cfg.checkpoint_every)
                break
            except NumericalFault as fault:
                if cfg.on_nan != "rollback" or rollbacks >= MAX_ROLLBACKS or not (out / "checkpoint.json").is_file():
                    raise AAEError(f"{fault}; the last good checkpoint in {out} is untouched") from fault
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
        raise TrainingStopped(
            f"stopped by {caught[0]} at epoch {trainer.epoch + 1}, step {trainer.step}; checkpoint written to "
            f"{out}. Resume with: aae train --resume {out}",
            signum=caught[1],
        )
    if not world.is_main:
        return {}
    save_tensors(out / "model", model.state_dict(), _model_meta(cfg, data_meta))
    run = Run(out, cfg, model, splits.data_dim, splits.n_classes, splits.image_shape)
    summary = evaluate(run, splits)
    summary.update(
        train_seconds=trainer.train_seconds,
        epochs=trainer.epoch,
        samples_per_second=trainer.step * cfg.batch_size / max(trainer.train_seconds, 1e-9),
    )
    atomic_write_json(out / "summary.json", summary)
    draw_figures(run, splits)
    return summary


MAX_ROLLBACKS = 5


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


def resume_config(out: Path, epochs: int | None = None) -> Config:
    """The saved config of run ``out``, with ``epochs`` changed if given."""
    path = Path(out) / "config.json"
    if not (Path(out) / "checkpoint.json").is_file() or not path.is_file():
        raise AAEError(f"--resume: {out} holds no checkpoint.json and config.json to resume from")
    try:
        cfg = from_dict(Config, json.loads(path.read_text()))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise AAEError(f"{path}: not valid JSON ({e})") from e
    if epochs is not None:
        cfg.epochs = epochs
    return cfg


def load_run(path: str | Path, device: str = "cpu") -> Run:
    """Load the final model of a run directory (safetensors + JSON only, verified)."""
    path = Path(path)
    if not path.is_dir():
        raise AAEError(f"run directory not found: {path}")
    tensors, meta = load_tensors(path / "model")
    try:
        cfg = from_dict(Config, meta["config"])
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
    return Run(path, cfg, model, data_dim, n_classes, shape)


def run_splits(run: Run, data_dir: str | None = None) -> Splits:
    cfg = run.cfg
    return load_splits(
        cfg.data.dataset, data_dir, cfg.data.validation, cfg.data.n_labeled, cfg.seed, fold=cfg.data.fold
    )


def split_tensors(splits: Splits, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    if split not in ("train", "val", "test"):
        raise AAEError(f"unknown split {split!r}; choose train, val or test")
    return getattr(splits, f"x_{split}"), getattr(splits, f"y_{split}")


def encode_split(run: Run, x: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Codes of ``x`` (float or uint8 pixels) in order, ``(n, code_dim)``; stochastic encoders draw with ``seed``."""
    g = torch.Generator(run.model.device).manual_seed(seed)
    return batched(lambda b: run.model.encode(as_float(b.to(run.model.device)), g), x).cpu()


def evaluate(run: Run, splits: Splits, seed: int = 0) -> dict[str, Any]:
    """Test-split metrics: ``recon_mse`` (per pixel), ``prior_mmd``, and ``label_match`` for label priors."""
    model = run.model.eval()
    dev = model.device
    x, y = splits.x_test.to(dev), splits.y_test
    codes = encode_split(run, x, seed)
    g = torch.Generator().manual_seed(seed + 1)
    out: dict[str, Any] = {
        "recon_mse": reconstruction_mse(model, x, y.to(dev)),
        "prior_mmd": prior_mmd(codes, model.prior, g),
    }
    if run.cfg.use_labels:
        out["label_match"] = label_match_fraction(codes, y, model.prior)
    if hasattr(model, "predict_proba"):
        out.update(classification_metrics(run, splits))
    return out


def predict_split(run: Run, splits: Splits, split: str) -> torch.Tensor:
    """Predicted class of every example of ``split`` ``(n,)``, in order.

    Semi-supervised models predict argmax q(y|x); clustering models map each cluster to the
    label of its most confident validation example (paper §6).
    """
    model = run.model
    if not hasattr(model, "predict_proba"):
        raise AAEError(f"run {run.path} ({run.cfg.model} model) has no classifier q(y|x) to predict with")
    x, _ = split_tensors(splits, split)
    proba = predict_proba(model, x)
    mapping = None
    if not getattr(model, "classify", True):
        mapping = cluster_labels(predict_proba(model, splits.x_val), splits.y_val)
    return predict_labels(proba, mapping)


def classification_metrics(run: Run, splits: Splits) -> dict[str, Any]:
    """``test_error`` (and ``val_error`` for semi-supervised models) in percent."""
    out: dict[str, Any] = {"test_error": error_percent(predict_split(run, splits, "test"), splits.y_test)}
    if getattr(run.model, "classify", False) and len(splits.y_val):
        out["val_error"] = error_percent(predict_split(run, splits, "val"), splits.y_val)
    return out


def parzen_run(run: Run, splits: Splits, n_samples: int = 10000, seed: int = 0) -> dict[str, float]:
    """Parzen-window log-likelihood of the test split under ``n_samples`` decoded prior samples (paper Table 1).

    σ is chosen on the validation split. Samples and images are in data units ([0, 1] for
    images): a standardized run's decoder maps its samples back (as the paper does for TFD),
    and uint8 pixels are scaled per block. Returns ``parzen_ll`` (nats, mean over test
    points), ``parzen_sem`` and ``parzen_sigma``.
    """
    if n_samples < 1:
        raise AAEError(f"--n-samples must be >= 1, got {n_samples}")
    if len(splits.x_val) == 0:
        raise AAEError("the Parzen σ is chosen on the validation split, and this run has none (data.validation=0)")
    model = run.model.eval()
    g = torch.Generator(model.device).manual_seed(seed)
    # decode in blocks: 10,000 samples through a 1000-wide decoder at once is needlessly large
    samples = torch.cat([model.sample(min(2000, n_samples - i), g) for i in range(0, n_samples, 2000)])
    dev = model.device
    return parzen_evaluate(samples, splits.x_val.to(dev), splits.x_test.to(dev))


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


def draw_figures(run: Run, splits: Splits, seed: int = 0) -> list[Path]:
    """Write the run's PNG figures into ``<run>/figures``; returns their paths."""
    fig_dir = run.path / "figures"
    fig_dir.mkdir(exist_ok=True)
    model, name, paths = run.model.eval(), run.cfg.name, []
    dev = model.device
    x, y = splits.x_test, splits.y_test
    codes = encode_split(run, x.to(dev), seed).numpy()
    g = torch.Generator().manual_seed(seed)
    prior_samples = model.prior.sample(5000, g).numpy()
    if hasattr(model, "represent"):
        # the learned representation W_C·y + z (paper Fig. 11), with the cluster heads marked
        rep = batched(lambda b: model.represent(as_float(b).to(dev)), x).to(dev)
        p = fig_dir / "representation.png"
        heads = model.view_2d(model.cluster_heads).cpu().numpy()
        plots.latent_scatter(
            p, model.view_2d(rep).cpu().numpy(), y.numpy(), f"{name}: test representation", marks=heads
        )
        paths.append(p)
    if codes.shape[1] >= 2:
        p = fig_dir / "latent.png"
        title = f"{name}: test codes" + (" (first two dimensions)" if codes.shape[1] > 2 else "")
        plots.latent_scatter(p, codes, y.numpy(), title, prior_samples=prior_samples)
        paths.append(p)
    if run.image_shape is None:
        return paths
    shape = run.image_shape
    samples = model.sample(100, g).cpu().numpy()
    p = fig_dir / "samples.png"
    plots.save_image_grid(p, samples, 10, 10, shape)
    paths.append(p)
    n = min(50, len(x))
    originals = as_float(x[:n])
    recon = model.reconstruct(originals.to(dev), y[:n].to(dev)).cpu().numpy()
    p = fig_dir / "reconstructions.png"
    pairs = plots.interleave_rows(originals.numpy(), recon, cols=10)
    plots.save_image_grid(p, pairs, len(pairs) // 10 + (len(pairs) % 10 > 0), 10, shape)
    paths.append(p)
    if model.sample_classes and not isinstance(model, Autoencoder):
        # style / content (Fig. 7a): each row one style z from the prior, each column one class
        k = min(model.sample_classes, 30)
        z = model.prior.sample(10, g).to(dev).repeat_interleave(k, 0)
        p = fig_dir / "styles.png"
        plots.save_image_grid(p, model.decode(z, torch.arange(k).repeat(10)).cpu().numpy(), 10, k, shape)
        paths.append(p)
    if hasattr(model, "heads"):
        # one row per class / cluster (Fig. 9): its head (style z = 0), then test images assigned to it
        assigned = predict_proba(model, x).argmax(1)
        p = fig_dir / "clusters.png"
        plots.cluster_rows(p, model.heads().cpu().numpy(), as_float(x).numpy(), assigned.numpy(), shape)
        paths.append(p)
    if codes.shape[1] == 2 and isinstance(model, Autoencoder):
        prior = model.prior
        if isinstance(prior, Gaussian):
            grid = plots.gaussian_grid(20, prior.std, prior.mean)
        else:
            lo, hi = np.percentile(prior_samples, [1, 99], axis=0)
            grid = plots.box_grid(20, lo, hi)
        p = fig_dir / "manifold.png"
        plots.save_image_grid(p, model.decode(grid.to(dev)).cpu().numpy(), 20, 20, shape)
        paths.append(p)
    return paths


def timestamp_dir(preset: str) -> Path:
    return Path("runs") / f"{preset}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
