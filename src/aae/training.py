"""The training loop, generic over models that follow the contract of ``aae.models.base.Model``.

Data live on the device as one tensor; each epoch draws a permutation from a dedicated
generator and slices mini-batches from it, so there is no per-sample Python work, and
metrics are summed on the device. The whole state (weights, optimizers, every RNG, the
position inside the epoch, the partial metric sums) can be saved at any step and
restored so that training continues bit-identically.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm import tqdm

from aae.config import Config, OptimConfig, ScheduleConfig
from aae.data import as_float, kth_neighbour_distance
from aae.distributed import GradientAveraging, World, all_reduce_mean_, any_process, check_batch_size, gather_tensor
from aae.errors import AAEError
from aae.hardware import autocast_factory, resolve_precision
from aae.models.base import Model


class NumericalFault(AAEError):
    """A loss or weight became NaN or Inf; names the phase and step."""

    def __init__(self, message: str, phase: str, step: int):
        super().__init__(message)
        self.phase, self.step = phase, step


def _fast_path(params: list[nn.Parameter]) -> dict[str, bool]:
    # the fused kernels update each tensor in one pass (measured on this CPU: SGD with momentum
    # 0.37 vs 0.62 ms per step for the encoder's 1.8M parameters with foreach); they exist for
    # float parameters on CPU and CUDA, elsewhere foreach
    fused = bool(params) and all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in params)
    return {"fused": True} if fused else {"foreach": True}


def make_optimizer(params: list[nn.Parameter], cfg: OptimConfig) -> torch.optim.Optimizer:
    """SGD with momentum or Adam over ``params``, as ``cfg`` says; with ``cfg.clip_norm > 0`` each
    ``step()`` first rescales the gradients of ``params`` to at most that L2 norm."""
    fast = _fast_path(params)
    if cfg.name == "sgd":
        opt = torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay, **fast)
    elif cfg.name == "adam":
        opt = torch.optim.Adam(params, lr=cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay, **fast)
    else:
        raise AAEError(f"unknown optimizer {cfg.name!r}; choose 'sgd' or 'adam'")
    if cfg.clip_norm > 0:

        def clip(*_) -> None:  # a step pre-hook runs after a distributed run has averaged the gradients
            nn.utils.clip_grad_norm_(params, cfg.clip_norm, foreach=True)

        opt.register_step_pre_hook(clip)
    return opt


def lr_factor(schedule: ScheduleConfig, epoch: int, step: int | None = None) -> float:
    """Multiplier of the base learning rate during ``epoch`` (0-based), at mini-batch ``step``
    (0-based, counted over the whole run; None: past any warm-up)."""
    warm = 1.0 if step is None or step >= schedule.warmup_steps else (step + 1) / schedule.warmup_steps
    if schedule.kind == "constant":
        return warm
    if schedule.kind == "step":
        return warm * schedule.gamma ** sum(epoch >= m for m in schedule.milestones)
    if schedule.kind == "exponential":
        return warm * schedule.gamma**epoch
    raise AAEError(f"unknown schedule kind {schedule.kind!r}; choose constant, step or exponential")


class Trainer:
    """Holds a model, its per-phase optimizers, the RNG streams and the position in training.

    Two generators keep runs reproducible without touching global RNG state: ``noise``
    (prior samples, encoder noise; on the device) and ``order`` (the data order; CPU).
    ``x`` is ``(n, d)`` training data on the model's device (float, or uint8 pixels that each
    mini-batch converts to [0, 1]: see :func:`aae.data.as_float`), ``y`` ``(n,)`` labels (-1: none).
    """

    def __init__(self, model: Model, cfg: Config, x: torch.Tensor, y: torch.Tensor, world: World | None = None):
        if len(x) < cfg.batch_size:
            raise AAEError(f"batch_size={cfg.batch_size} is larger than the {len(x)} training examples")
        world = world or World()
        check_batch_size(cfg.batch_size, world)
        self.model, self.cfg, self.x, self.y, self.world = model, cfg, x, y, world
        model.check_labels(y)
        # models with a semi-supervised phase also get a mini-batch of labeled examples per step
        self.labeled_pool = (y >= 0).nonzero().squeeze(1) if model.capabilities.labeled_batch else None
        self.labeled_batch_size = cfg.labeled_batch_size or cfg.batch_size
        if self.labeled_pool is not None:
            if len(self.labeled_pool) == 0:
                raise AAEError(f"model {cfg.model!r} needs labeled training examples and the data have none")
            check_batch_size(self.labeled_batch_size, world)
        # models whose VAT perturbation scales with the local density get each example's distance
        # to its k-th nearest training example (IMSAT); computed once, after the cheap checks
        # above (a minute for 50,000 images), exact and deterministic
        k = model.neighbour_rank()
        self.radius = kth_neighbour_distance(x, k) if k else None
        self.optimizers = {n: make_optimizer(p, cfg.optim[n]) for n, p in model.phase_parameters().items()}
        if world.distributed:
            self.optimizers = {n: GradientAveraging(o, world) for n, o in self.optimizers.items()}
        # cfg.ema > 0: an exponential moving average of every weight and buffer, updated after each
        # step, evaluated beside the trained weights (``ema.module`` is a model of the same class)
        self.ema = (
            AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema), use_buffers=True) if cfg.ema else None
        )
        # the precision it runs in: "auto" resolved for this device and model family
        self.precision = resolve_precision(cfg.precision, x.device, model.capabilities.bf16_parity)
        self.amp = autocast_factory(self.precision, x.device)
        # each process draws its own noise; process 0 draws what a single process would
        self.noise = torch.Generator(x.device).manual_seed(cfg.seed + 1_000_003 * world.rank)
        self.order = torch.Generator().manual_seed(cfg.seed + 1)
        self.epoch = 0  # completed epochs
        self.batch = 0  # completed mini-batches of the current epoch
        self.step = 0  # completed mini-batches in all
        self.lr_scale = 1.0  # lowered by NaN rollbacks
        self.history: list[dict] = []  # one dict of metrics per completed epoch
        self.train_seconds = 0.0
        self.stop_requested = False  # set from a signal handler: stop after the current step
        self._sums: dict[str, torch.Tensor] = {}
        self._epoch_seconds = 0.0
        self._epoch_order_state = self.order.get_state()
        # losses are checked for NaN/Inf every step on the CPU (no sync to wait for) and every 50 on CUDA
        self._check_every = 1 if x.device.type == "cpu" or world.distributed else 50
        self._pending: list[tuple[int, dict[str, torch.Tensor]]] = []

    @property
    def n_batches(self) -> int:
        # the remainder (< one batch) waits for the next epoch's shuffle
        return len(self.x) // self.cfg.batch_size

    def _set_lr(self) -> dict[str, float]:
        f = lr_factor(self.cfg.schedule, self.epoch, self.step) * self.lr_scale
        lrs = {}
        for name, opt in self.optimizers.items():
            lrs[name] = self.cfg.optim[name].lr * f
            for g in opt.param_groups:
                g["lr"] = lrs[name]
        return lrs

    def check_finite(self, weights: bool = True) -> None:
        """Raise :class:`NumericalFault` if a loss since the last check, or (``weights``) any weight, is NaN/Inf.

        In a distributed run all processes agree: if one finds a fault, all raise.
        """
        pending, self._pending = self._pending, []
        fault = None
        if pending:
            stacked = torch.stack([torch.stack(list(m.values())) for _, m in pending])
            if not bool(torch.isfinite(stacked).all()):
                row, col = (~torch.isfinite(stacked)).nonzero()[0].tolist()
                step, metrics = pending[row]
                key = list(metrics)[col]
                phase = self.model.metrics.get(key, next(iter(self.optimizers)))
                first = self._diverged_first(key)
                culprit, why = phase, ""
                if first is not None:
                    other, mean = first
                    culprit = self.model.metrics.get(other, phase)
                    why = f", after {other} ('{culprit}' phase) had grown to a mean of {mean:.3g} this epoch"
                fault = NumericalFault(
                    f"{key} became {float(stacked[row, col])} in the '{phase}' phase at step {step} "
                    f"(epoch {self.epoch + 1}){why}; lower the '{culprit}' phase's learning rate "
                    f"(--set optim.{culprit}.lr=...), bound its gradient (--set optim.{culprit}.clip_norm=...) "
                    "or train with --set on_nan=rollback",
                    phase,
                    step,
                )
        if fault is None and weights:
            for name, p in self.model.named_parameters():
                if not bool(torch.isfinite(p).all()):
                    fault = NumericalFault(f"weights {name} hold NaN or Inf after step {self.step}", name, self.step)
                    break
        self._agree(fault)

    def _diverged_first(self, key: str) -> tuple[str, float] | None:
        """The loss other than ``key`` with the largest finite mean over this epoch's steps so far,
        if that mean passes 1e4 (losses here are O(1)-O(100)): where a NaN comes from a phase that
        blew up before it, e.g. a discriminator whose loss grew for steps before the generator's
        became NaN."""
        steps = max(self.batch, 1)
        means = {k: float(v) / steps for k, v in self._sums.items() if k != key and v.numel() == 1}
        means = {k: m for k, m in means.items() if math.isfinite(m) and abs(m) > 1e4}
        if not means:
            return None
        worst = max(means, key=lambda k: abs(means[k]))
        return worst, means[worst]

    def _agree(self, fault: NumericalFault | None) -> None:
        """Share a local fault and the stop request with every process; raise the fault everywhere."""
        if self.world.distributed:
            flags = torch.tensor([fault is not None, self.stop_requested], dtype=torch.int32, device=self.x.device)
            any_fault, any_stop = any_process(flags, self.world).tolist()
            self.stop_requested = bool(any_stop)
            if any_fault and fault is None:
                fault = NumericalFault(f"another process found NaN/Inf at step {self.step}", "unknown", self.step)
        if fault is not None:
            raise fault

    def fit(
        self,
        epochs: int,
        progress: bool = False,
        on_epoch_end: Callable[[dict], None] | None = None,
        on_checkpoint: Callable[[Trainer], None] | None = None,
        checkpoint_every: int = 0,
        checkpoint_minutes: float = 0.0,
    ) -> bool:
        """Train until ``epoch == epochs``. Returns False if stopped early by ``stop_requested``.

        ``on_checkpoint(self)`` is called every ``checkpoint_every`` steps (0: never mid-epoch),
        once ``checkpoint_minutes`` of training have passed since the last checkpoint (0: never
        mid-epoch), after each epoch (after ``on_epoch_end(metrics)``) and before an early
        stop; the state it sees has passed the NaN check.
        """
        self._last_checkpoint = time.monotonic()
        while self.epoch < epochs:
            if not self._run_epoch(progress, on_checkpoint, checkpoint_every, checkpoint_minutes):
                return False
            if on_epoch_end is not None:
                on_epoch_end(self.history[-1])
            if on_checkpoint is not None:
                self.check_finite()
                on_checkpoint(self)
                self._last_checkpoint = time.monotonic()
        return True

    def _minutes_due(self, minutes: float) -> bool:
        """``minutes`` of training have passed since the last checkpoint (the same answer on every process)."""
        if minutes <= 0:
            return False
        if not self.world.distributed:
            return time.monotonic() - self._last_checkpoint >= 60 * minutes
        if self.step % 16:  # every process asks at the same steps; the clock of process 0 decides
            return False
        late = torch.tensor([time.monotonic() - self._last_checkpoint >= 60 * minutes], dtype=torch.int32)
        late = late.to(self.x.device) * int(self.world.is_main)
        return bool(any_process(late, self.world).item())

    def _run_epoch(self, progress, on_checkpoint, checkpoint_every, checkpoint_minutes=0.0) -> bool:
        self.model.train()
        lrs = self._set_lr()
        bs, n_batches = self.cfg.batch_size, self.n_batches
        if self.batch == 0:
            self._epoch_order_state = self.order.get_state()
        else:  # resuming mid-epoch: draw the same permutation again
            self.order.set_state(self._epoch_order_state)
        perm = torch.randperm(len(self.x), generator=self.order).to(self.x.device)
        labeled = self._labeled_order(n_batches)
        lbs = self.labeled_batch_size
        bar = tqdm(
            range(self.batch, n_batches),
            desc=f"epoch {self.epoch + 1}/{self.cfg.epochs}",
            disable=not progress,
            leave=False,
            dynamic_ncols=True,
            initial=self.batch,
            total=n_batches,
            # tqdm's default less the rate (the epoch line gives samples/s): room for the readout
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]",
        )
        t0 = time.perf_counter()
        for i in bar:
            idx = perm[i * bs : (i + 1) * bs][self.world.rank :: self.world.size]
            xb = as_float(self.x[idx])  # uint8 images are stored as such and converted per batch
            extra = {}
            if labeled is not None:
                li = labeled[i * lbs : (i + 1) * lbs][self.world.rank :: self.world.size]
                extra["labeled"] = (as_float(self.x[li]), self.y[li])
            if self.radius is not None:
                extra["radius"] = self.radius[idx]
            if self.model.capabilities.teacher:
                extra["teacher"] = None if self.ema is None else self.ema.module
                extra["epochs_done"] = self.step / n_batches  # a function of the step: resumes exactly
            if self.step < self.cfg.schedule.warmup_steps:
                lrs = self._set_lr()  # the warm-up raises the learning rates step by step
            metrics = self.model.train_step(xb, self.y[idx], self.optimizers, self.noise, self.amp, **extra)
            for k, v in metrics.items():
                self._sums[k] = self._sums[k] + v if k in self._sums else v.clone()
            self.step += 1
            if self.ema is not None:
                self.ema.update_parameters(self.model)
            self.batch = i + 1
            self._pending.append((self.step, metrics))
            if len(self._pending) >= self._check_every:
                # losses only: a NaN weight shows in the next step's losses, and scanning all
                # weights every step cost a quarter of a bf16 step here; checkpoints and epoch
                # ends scan them
                self.check_finite(weights=False)
            if progress and (i % 50 == 0 or i == n_batches - 1):
                # the main loss of each phase, short, so that the bar keeps its width
                bar.set_postfix_str(self._postfix(i + 1, bar), refresh=False)
            due = on_checkpoint is not None and self.batch < n_batches
            due = due and (
                bool(checkpoint_every and self.step % checkpoint_every == 0) or self._minutes_due(checkpoint_minutes)
            )
            if on_checkpoint is not None and (self.stop_requested or due):
                self._epoch_seconds += time.perf_counter() - t0
                self.check_finite()
                on_checkpoint(self)
                self._last_checkpoint = time.monotonic()
                t0 = time.perf_counter()
            if self.stop_requested:
                bar.close()
                return False
        bar.close()
        self.check_finite()
        self._epoch_seconds += time.perf_counter() - t0
        keys = list(self._sums)
        sums = torch.stack([self._sums[k].float() for k in keys])
        all_reduce_mean_([sums], self.world)
        out = {k: float(v) / n_batches for k, v in zip(keys, sums)}
        out.update({f"lr_{k}": v for k, v in lrs.items()})
        seconds, self._epoch_seconds = self._epoch_seconds, 0.0
        self.epoch += 1
        self.batch = 0
        self._sums = {}
        self.train_seconds += seconds
        out.update(epoch=self.epoch, step=self.step, seconds=seconds, samples_per_second=n_batches * bs / seconds)
        self.history.append(out)
        return True

    def _postfix(self, batches: int, bar: tqdm) -> str:
        """The progress bar's readout: the first declared metric of each phase, 3 significant digits.

        Phases that would squeeze the bar below 30 columns are left out (every metric is in the
        per-epoch line and in metrics.jsonl).
        """
        shown: dict[str, str] = {}
        for key, phase in self.model.metrics.items():
            if phase not in shown and key in self._sums:
                shown[phase] = key
        items = [f"{phase}={float(self._sums[k]) / batches:#.3g}" for phase, k in shown.items()]
        fmt = bar.format_dict
        if not fmt.get("ncols"):
            return " ".join(items)
        # the rest of the line at its widest (the count and the times grow, and tqdm updates them
        # more often than this readout), measured with a bar of 10 columns (no width given)
        widest = {"n": fmt["total"], "elapsed": 3599, "ncols": None, "postfix": None}
        rest = len(bar.format_meter(**{**fmt, **widest})) - 10 + 2  # + 2: times past an hour
        budget = fmt["ncols"] - rest - 30 - len(", ")
        while items and len(" ".join(items)) > budget:
            items.pop()
        return " ".join(items)

    def _labeled_order(self, n_batches: int) -> torch.Tensor | None:
        """Indices of the labeled examples for this epoch's ``n_batches`` labeled mini-batches.

        Back-to-back shuffles of the labeled pool (every labeled example is seen once before
        any is seen again), drawn right after the epoch's permutation from the same generator,
        so a mid-epoch resume draws them again identically.
        """
        if self.labeled_pool is None:
            return None
        pool, need = self.labeled_pool, n_batches * self.labeled_batch_size
        reps = -(-need // len(pool))
        order = torch.cat([torch.randperm(len(pool), generator=self.order) for _ in range(reps)])[:need]
        return pool[order.to(pool.device)]

    # ------------------------------------------------------------ checkpoint state

    def state_tensors(self) -> tuple[dict[str, torch.Tensor], dict]:
        """Everything needed to resume exactly: (tensors for safetensors, JSON-able metadata)."""
        tensors = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        meta: dict = {
            "epoch": self.epoch,
            "batch": self.batch,
            "step": self.step,
            "lr_scale": self.lr_scale,
            "history": self.history,
            "train_seconds": self.train_seconds,
            "epoch_seconds": self._epoch_seconds,
            "optimizers": {},
            "python_random": _to_json(random.getstate()),
            "numpy_random": _to_json(np.random.get_state()),
        }
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
        tensors.update({f"sums.{k}": v for k, v in self._sums.items()})
        noise_states = gather_tensor(self.noise.get_state().to(self.x.device), self.world)
        tensors["rng.noise"] = noise_states[0]
        tensors.update({f"rng.noise.{r}": st for r, st in enumerate(noise_states) if r > 0})
        tensors["rng.order"] = self.order.get_state()
        tensors["rng.epoch_order"] = self._epoch_order_state
        tensors["rng.torch"] = torch.get_rng_state()
        if self.ema is not None:
            tensors.update({f"ema.{k}": v for k, v in self.ema.state_dict().items()})
        return tensors, meta

    def load_state_tensors(self, tensors: dict[str, torch.Tensor], meta: dict) -> None:
        """Restore what :meth:`state_tensors` saved; a mismatch with this model raises :class:`AAEError`."""
        dev = self.x.device
        try:
            model_sd = {k[len("model.") :]: v.to(dev) for k, v in tensors.items() if k.startswith("model.")}
            self.model.load_state_dict(model_sd)
            for name, opt in self.optimizers.items():
                m = meta["optimizers"][name]
                state = {
                    int(pid): {k: tensors[f"optim.{name}.{pid}.{k}"].to(dev) for k in keys}
                    for pid, keys in m["state_keys"].items()
                }
                opt.load_state_dict({"state": state, "param_groups": m["param_groups"]})
            key = "rng.noise" if self.world.rank == 0 else f"rng.noise.{self.world.rank}"
            if key not in tensors:
                raise AAEError(f"the checkpoint was written by fewer processes than the {self.world.size} now running")
            self.noise.set_state(tensors[key].cpu())
            self.order.set_state(tensors["rng.order"].cpu())
            self._epoch_order_state = tensors["rng.epoch_order"].cpu()
            torch.set_rng_state(tensors["rng.torch"].cpu())
            if self.ema is not None:
                self.ema.load_state_dict(
                    {k[len("ema.") :]: v.to(dev) for k, v in tensors.items() if k.startswith("ema.")}
                )
            self._sums = {k[len("sums.") :]: v.to(dev) for k, v in tensors.items() if k.startswith("sums.")}
            self.epoch, self.batch, self.step = int(meta["epoch"]), int(meta["batch"]), int(meta["step"])
            self.lr_scale, self.history = float(meta["lr_scale"]), list(meta["history"])
            self.train_seconds, self._epoch_seconds = float(meta["train_seconds"]), float(meta["epoch_seconds"])
            random.setstate(_from_json_python_random(meta["python_random"]))
            np.random.set_state(tuple(meta["numpy_random"]))
        except AAEError:
            raise
        except (KeyError, RuntimeError, ValueError, TypeError) as e:
            raise AAEError(f"checkpoint does not match this model/config: {type(e).__name__}: {e}") from e
        self._pending = []


def _to_json(obj):
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (tuple, list)):
        return [_to_json(o) for o in obj]
    return obj


def _from_json_python_random(state):
    version, internal, gauss = state
    return (version, tuple(internal), gauss)
