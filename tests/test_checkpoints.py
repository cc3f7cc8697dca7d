import json
import os
import pickle
import stat

import pytest
import torch

from aae.checkpoints import atomic_write_bytes, load_tensors, save_tensors
from aae.errors import AAEError


def test_round_trip(tmp_path):
    t = {"a": torch.randn(3, 4), "b": torch.arange(5)}
    save_tensors(tmp_path / "m", t, {"note": "x"})
    got, meta = load_tensors(tmp_path / "m")
    assert meta["note"] == "x" and len(meta["sha256"]) == 64
    assert torch.equal(got["a"], t["a"]) and torch.equal(got["b"], t["b"])
    assert not list(tmp_path.glob("*.tmp"))  # no temporary files left behind


def test_tampered_truncated_or_missing_files_are_refused(tmp_path):
    save_tensors(tmp_path / "m", {"a": torch.randn(10)}, {})
    blob = (tmp_path / "m.safetensors").read_bytes()
    (tmp_path / "m.safetensors").write_bytes(blob[:-8])
    with pytest.raises(AAEError, match="does not match"):
        load_tensors(tmp_path / "m")
    (tmp_path / "m.safetensors").unlink()
    with pytest.raises(AAEError, match="missing checkpoint file"):
        load_tensors(tmp_path / "m")


class Boom:
    def __reduce__(self):
        return (open, ("/tmp/aae-pickle-ran", "w"))


def test_pickle_payload_is_never_unpickled(tmp_path):
    payload = pickle.dumps({"a": Boom()})
    (tmp_path / "m.safetensors").write_bytes(payload)
    import hashlib

    desc = {"format": "aae-checkpoint-1", "sha256": hashlib.sha256(payload).hexdigest()}
    (tmp_path / "m.json").write_text(json.dumps(desc))
    marker = __import__("pathlib").Path("/tmp/aae-pickle-ran")
    marker.unlink(missing_ok=True)
    with pytest.raises(AAEError, match="not a valid safetensors"):
        load_tensors(tmp_path / "m")
    assert not marker.exists()


def test_bad_description_is_refused(tmp_path):
    save_tensors(tmp_path / "m", {"a": torch.zeros(1)}, {})
    (tmp_path / "m.json").write_text("{not json")
    with pytest.raises(AAEError, match="not valid JSON"):
        load_tensors(tmp_path / "m")
    (tmp_path / "m.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(AAEError, match="not an aae checkpoint"):
        load_tensors(tmp_path / "m")


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_files_get_the_mode_the_umask_gives(tmp_path, umask, mode):
    """Atomic writes go through a private mkstemp file; the file they leave is as open() would make it."""
    previous = os.umask(umask)
    try:
        save_tensors(tmp_path / "m", {"a": torch.zeros(2)}, {})
        atomic_write_bytes(tmp_path / "x.bin", b"x")
    finally:
        os.umask(previous)
    for name in ("m.safetensors", "m.json", "x.bin"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name
