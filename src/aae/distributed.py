"""Multi-process data-parallel training with ``torch.distributed`` (started by ``torchrun``).

Each process holds a full copy of the networks and of the data, and trains on its shard
(every ``size``-th example) of each global mini-batch. Before every optimizer step the
gradients of that phase's parameters are averaged over all processes (one flattened
all-reduce per phase), so all copies apply the same update and stay identical: this is
DistributedDataParallel's synchronous data parallelism, done per phase because an AAE
step has three backward passes with three optimizers over overlapping networks.
Backends: gloo on CPU, NCCL on GPU (one GPU per process, chosen by ``LOCAL_RANK``).
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from typing import NoReturn

import torch
import torch.distributed as dist
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

from aae.errors import AAEError


@dataclass(frozen=True)
class World:
    """This process's place among ``size`` processes (``size == 1``: not distributed)."""

    rank: int = 0
    size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def init_from_env(device: torch.device) -> tuple[World, torch.device]:
    """Join the process group described by torchrun's environment (``WORLD_SIZE``, ``RANK``, ...).

    Returns the world and the device this process trains on (``cuda:LOCAL_RANK`` on GPU).
    Outside torchrun it returns a world of one and ``device`` unchanged.
    """
    if not launched_by_torchrun():
        return World(), device
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return World(dist.get_rank(), dist.get_world_size()), device


def shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def launched_by_torchrun() -> bool:
    """True in a process that torchrun started as one of several."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def exit_now(code: int) -> NoReturn:
    """End a torchrun process with ``code`` after flushing its output, skipping interpreter finalization.

    A gloo worker thread can still be dropping its reference to the last collective's tensors
    when Python finalizes; the drop needs the GIL, which a finalizing interpreter no longer
    hands out, and the process dies with SIGABRT ("terminate called without an active
    exception"; a resumed 2-process run here, 3 times in 30; pytorch/pytorch#179291). By then
    the run is written (checkpoints are closed, fsynced and renamed) and the process group is
    destroyed, so there is nothing left for finalization to do.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    logging.shutdown()
    os._exit(code)


def all_reduce_mean_(tensors: list[torch.Tensor], world: World) -> None:
    """Average ``tensors`` in place over all processes (one flattened all-reduce)."""
    if not world.distributed or not tensors:
        return
    flat = _flatten_dense_tensors(tensors)
    dist.all_reduce(flat)
    flat /= world.size
    for t, f in zip(tensors, _unflatten_dense_tensors(flat, tensors)):
        t.copy_(f)


def any_process(flags: torch.Tensor, world: World) -> torch.Tensor:
    """Element-wise OR of integer ``flags`` over all processes."""
    if world.distributed:
        dist.all_reduce(flags, op=dist.ReduceOp.MAX)
    return flags


def gather_tensor(t: torch.Tensor, world: World) -> list[torch.Tensor]:
    """Every process's ``t`` (same shape on all), in rank order; ``[t]`` when not distributed."""
    if not world.distributed:
        return [t]
    out = [torch.empty_like(t) for _ in range(world.size)]
    dist.all_gather(out, t)
    return out


def broadcast_error(error: str | None, world: World) -> str | None:
    """Process 0's error message (or None), delivered to every process."""
    if not world.distributed:
        return error
    box = [error]
    dist.broadcast_object_list(box, src=0)
    return box[0]


class GradientAveraging:
    """Wraps an optimizer so that each ``step()`` first averages its gradients over all processes."""

    def __init__(self, optimizer: torch.optim.Optimizer, world: World):
        self.optimizer, self.world = optimizer, world

    @property
    def param_groups(self):
        return self.optimizer.param_groups

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        grads = [p.grad for g in self.optimizer.param_groups for p in g["params"] if p.grad is not None]
        all_reduce_mean_(grads, self.world)
        self.optimizer.step()

    def state_dict(self) -> dict:
        return self.optimizer.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state)


def check_batch_size(batch_size: int, world: World) -> None:
    if batch_size % world.size:
        raise AAEError(f"batch_size={batch_size} must be a multiple of the {world.size} processes")
