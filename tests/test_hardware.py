import pytest
import torch

from aae.errors import AAEError
from aae.hardware import autocast_factory, fast_bf16, resolve_device, resolve_precision


def test_auto_precision_is_bf16_only_where_the_hardware_runs_it_fast():
    cpu = torch.device("cpu")
    assert fast_bf16(cpu, {"avx2", "avx512f", "avx512_bf16"}) and fast_bf16(cpu, {"amx_bf16", "amx_tile"})
    assert not fast_bf16(cpu, {"avx2", "avx512f", "avx512bw"})
    assert not fast_bf16(torch.device("meta"), {"amx_bf16"})  # neither CPU nor CUDA
    assert resolve_precision("float32", cpu) == "float32" and resolve_precision("bf16", cpu) == "bf16"
    assert resolve_precision("auto", cpu) == ("bf16" if fast_bf16(cpu) else "float32")
    assert resolve_precision("auto", cpu, parity=False) == "float32"
    assert resolve_precision("bf16", cpu, parity=False) == "bf16"  # asked for explicitly: given


def test_autocast_factory_casts_products_to_bf16_only_when_asked():
    cpu = torch.device("cpu")
    a = torch.ones(4, 4)
    with autocast_factory("float32", cpu)():
        assert (a @ a).dtype == torch.float32
    with autocast_factory("bf16", cpu)():
        assert (a @ a).dtype == torch.bfloat16
    with pytest.raises(AAEError, match="unknown precision 'fp8'"):
        autocast_factory("fp8", cpu)


def test_resolve_device_names_what_is_wrong():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(AAEError, match="unknown device 'gpu0'"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(AAEError, match="CUDA is not available"):
            resolve_device("cuda")


def test_reading_the_cpu_flags_closes_the_file(monkeypatch):
    """/proc/cpuinfo is read and closed (an open file left behind warns on every estimator fit)."""
    import builtins

    import aae.hardware as hardware

    opened = []
    real_open = builtins.open

    def tracking_open(*args, **kwargs):
        f = real_open(*args, **kwargs)
        opened.append(f)
        return f

    monkeypatch.setattr(builtins, "open", tracking_open)
    hardware.fast_bf16(torch.device("cpu"))
    assert opened and all(f.closed for f in opened)
