"""The training loop, generic over models that follow the phase contract of ``aae.models``.

Data live on the device as one tensor; each epoch draws a permutation from a dedicated
generator and slices mini-batches from it, so there is no per-sample Python work and
no host sync per step (metrics are summed on the device and read once per epoch).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm import tqdm

from aae.config import Config, OptimConfig, ScheduleConfig
from aae.errors import AAEError


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when available, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError as e:
        raise AAEError(f"unknown device {name!r}: {e}") from e
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise AAEError(f"device {name!r} asked for but CUDA is not available on this machine")
    return dev


def make_optimizer(params: list[nn.Parameter], cfg: OptimConfig) -> torch.optim.Optimizer:
    """SGD with momentum or Adam over ``params``, as ``cfg`` says."""
    if cfg.name == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay, foreach=True)
    if cfg.name == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay, foreach=True)
    raise AAEError(f"unknown optimizer {cfg.name!r}; choose 'sgd' or 'adam'")


def lr_factor(schedule: ScheduleConfig, epoch: int) -> float:
    """Multiplier of the base learning rate during ``epoch`` (0-based)."""
    if schedule.kind == "constant":
        return 1.0
    if schedule.kind == "step":
        return schedule.gamma ** sum(epoch >= m for m in schedule.milestones)
    if schedule.kind == "exponential":
        return schedule.gamma**epoch
    raise AAEError(f"unknown schedule kind {schedule.kind!r}; choose constant, step or exponential")


@dataclass
class Trainer:
    """Holds a model, its per-phase optimizers and the RNG streams; ``fit`` trains it.

    Two generators keep runs reproducible without touching global RNG state: ``noise``
    (prior samples, encoder noise; on the device) and ``order`` (the data order; CPU).
    """

    model: nn.Module
    cfg: Config
    x: torch.Tensor  # (n, d) training data on the device
    y: torch.Tensor  # (n,) labels, -1 = unlabeled
    epoch: int = 0
    step: int = 0
    optimizers: dict[str, torch.optim.Optimizer] = field(init=False)
    noise: torch.Generator = field(init=False)
    order: torch.Generator = field(init=False)

    def __post_init__(self):
        if len(self.x) < self.cfg.batch_size:
            raise AAEError(f"batch_size={self.cfg.batch_size} is larger than the {len(self.x)} training examples")
        params = self.model.phase_parameters()
        self.optimizers = {name: make_optimizer(p, getattr(self.cfg, name)) for name, p in params.items()}
        self.noise = torch.Generator(self.x.device).manual_seed(self.cfg.seed)
        self.order = torch.Generator().manual_seed(self.cfg.seed + 1)

    def _set_lr(self) -> dict[str, float]:
        f = lr_factor(self.cfg.schedule, self.epoch)
        lrs = {}
        for name, opt in self.optimizers.items():
            lrs[name] = getattr(self.cfg, name).lr * f
            for g in opt.param_groups:
                g["lr"] = lrs[name]
        return lrs

    def run_epoch(self, progress: bool = False) -> dict[str, float]:
        """Train one pass over the data; returns mean metrics, learning rates and timing."""
        self.model.train()
        lrs = self._set_lr()
        bs = self.cfg.batch_size
        perm = torch.randperm(len(self.x), generator=self.order).to(self.x.device)
        n_batches = len(self.x) // bs  # the remainder (< one batch) waits for the next epoch's shuffle
        sums: dict[str, torch.Tensor] = {}
        t0 = time.perf_counter()
        bar = tqdm(
            range(n_batches),
            desc=f"epoch {self.epoch + 1}/{self.cfg.epochs}",
            disable=not progress,
            leave=False,
            dynamic_ncols=True,
        )
        for i in bar:
            idx = perm[i * bs : (i + 1) * bs]
            metrics = self.model.train_step(self.x[idx], self.y[idx], self.optimizers, self.noise)
            for k, v in metrics.items():
                sums[k] = sums[k] + v if k in sums else v.clone()
            self.step += 1
            if progress and (i % 50 == 0 or i == n_batches - 1):
                bar.set_postfix({k: f"{float(v) / (i + 1):.4g}" for k, v in sums.items()}, refresh=False)
        bar.close()
        seconds = time.perf_counter() - t0
        out = {k: float(v) / n_batches for k, v in sums.items()}
        for k, v in out.items():
            if not math.isfinite(v):
                raise AAEError(
                    f"{k} became {v} during epoch {self.epoch + 1} (step {self.step}); lower the learning "
                    "rates (--set recon.lr=..., disc.lr=..., gen.lr=...)"
                )
        self.epoch += 1
        out.update({f"lr_{k}": v for k, v in lrs.items()})
        out.update(epoch=self.epoch, step=self.step, seconds=seconds, samples_per_second=n_batches * bs / seconds)
        return out

    def fit(
        self, epochs: int, progress: bool = False, on_epoch_end: Callable[[dict], None] | None = None
    ) -> list[dict]:
        """Train until ``self.epoch == epochs``; calls ``on_epoch_end(metrics)`` after each epoch."""
        history = []
        while self.epoch < epochs:
            m = self.run_epoch(progress)
            history.append(m)
            if on_epoch_end is not None:
                on_epoch_end(m)
        return history

    # ------------------------------------------------------------ checkpoint state

    def state_tensors(self) -> tuple[dict[str, torch.Tensor], dict]:
        """Everything needed to resume: (tensors for safetensors, JSON-able metadata)."""
        tensors = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        meta: dict = {"epoch": self.epoch, "step": self.step, "optimizers": {}}
        for name, opt in self.optimizers.items():
            sd = opt.state_dict()
            meta["optimizers"][name] = {"param_groups": sd["param_groups"], "state_keys": {}}
            for pid, st in sd["state"].items():
                keys = []
                for k, v in st.items():
                    if isinstance(v, torch.Tensor):
                        tensors[f"optim.{name}.{pid}.{k}"] = v
                        keys.append(k)
                meta["optimizers"][name]["state_keys"][str(pid)] = keys
        tensors["rng.noise"] = self.noise.get_state()
        tensors["rng.order"] = self.order.get_state()
        return tensors, meta

    def load_state_tensors(self, tensors: dict[str, torch.Tensor], meta: dict) -> None:
        model_sd = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
        self.model.load_state_dict(model_sd)
        for name, opt in self.optimizers.items():
            m = meta["optimizers"][name]
            state = {
                int(pid): {k: tensors[f"optim.{name}.{pid}.{k}"] for k in keys} for pid, keys in m["state_keys"].items()
            }
            opt.load_state_dict({"state": state, "param_groups": m["param_groups"]})
        self.noise.set_state(tensors["rng.noise"].cpu())
        self.order.set_state(tensors["rng.order"].cpu())
        self.epoch, self.step = int(meta["epoch"]), int(meta["step"])
