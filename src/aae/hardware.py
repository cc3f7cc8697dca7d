"""Where training runs and in which precision: the device, whether it runs bf16 matrix
products fast, and the autocast context that the chosen precision asks for."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from functools import partial

import torch

from aae.config import PRECISIONS
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


def fast_bf16(device: torch.device, cpu_flags: set[str] | None = None) -> bool:
    """Whether ``device`` runs bf16 matrix products fast: a CUDA device with bf16, or a CPU with
    AMX or AVX-512 BF16 instructions (``cpu_flags``: the flags of /proc/cpuinfo, read when None)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    if cpu_flags is None:
        try:
            with open("/proc/cpuinfo") as f:
                text = f.read()
        except OSError:
            return False
        cpu_flags = {f for line in text.splitlines() if line.startswith("flags") for f in line.split(":", 1)[1].split()}
    return bool({"amx_bf16", "avx512_bf16"} & cpu_flags)


def resolve_precision(precision: str, device: torch.device, parity: bool = True) -> str:
    """``precision`` as it will run: ``auto`` is bf16 where :func:`fast_bf16` and the model has
    ``parity`` (``Capabilities.bf16_parity``: bf16 measured to train it as well as float32),
    float32 elsewhere."""
    if precision == "auto":
        return "bf16" if parity and fast_bf16(device) else "float32"
    return precision


def autocast_factory(precision: str, device: torch.device) -> Callable[[], AbstractContextManager]:
    """A no-argument context factory: bf16 autocast on ``device``'s type, or nothing for float32
    (``precision`` as :func:`resolve_precision` gives it)."""
    if precision == "float32":
        return nullcontext
    if precision == "bf16":
        return partial(torch.autocast, device_type=device.type, dtype=torch.bfloat16)
    raise AAEError(f"unknown precision {precision!r}; choose one of {list(PRECISIONS)}")
