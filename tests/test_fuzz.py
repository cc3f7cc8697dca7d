"""Property-based tests: readers and config parsing fed random and corrupted bytes.

The only allowed outcomes are a correct result or our own AAEError: never a crash from
inside NumPy/PyTorch, never a hang (hypothesis' deadline).
"""

import gzip
import io
import json
import string
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aae.config import Config, apply_overrides, from_dict, load_config_file
from aae.data import load_array_file, parse_idx, read_idx_gz
from aae.errors import AAEError

FUZZ = settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow], derandomize=True)


def idx(arr: np.ndarray) -> bytes:
    return bytes([0, 0, 8, arr.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in arr.shape) + arr.tobytes()


VALID_IDX = idx(np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4))


def corrupt(data: bytes, edits) -> bytes:
    b = bytearray(data)
    for pos, val in edits:
        if b:
            b[pos % len(b)] = val
    return bytes(b)


edits = st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=6)


@FUZZ
@given(st.binary(max_size=200))
def test_idx_random_bytes(data):
    try:
        arr = parse_idx(data)
    except AAEError:
        return
    assert arr.dtype == np.uint8 and arr.size == len(data) - 4 - 4 * arr.ndim


@FUZZ
@given(edits, st.integers(0, len(VALID_IDX)))
def test_idx_corrupted_and_truncated(e, cut):
    data = corrupt(VALID_IDX, e)[:cut] if cut else corrupt(VALID_IDX, e)
    try:
        arr = parse_idx(data)
    except AAEError:
        return
    assert int(np.prod(arr.shape)) == arr.size


@FUZZ
@given(edits, st.integers(0, 200))
def test_idx_gz_corrupted(e, cut):
    data = corrupt(gzip.compress(VALID_IDX), e)
    data = data[: len(data) - cut] if cut else data
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "f.gz"
        p.write_bytes(data)
        try:
            read_idx_gz(p)
        except AAEError:
            pass


def npy_bytes(arr) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


VALID_NPY = npy_bytes(np.arange(12, dtype=np.float32).reshape(3, 4) / 12)
VALID_NPZ = npz_bytes(x=np.arange(12, dtype=np.uint8).reshape(3, 4), y=np.arange(3))


@FUZZ
@given(st.sampled_from([VALID_NPY, VALID_NPZ, b""]), edits, st.integers(0, 300), st.sampled_from([".npy", ".npz"]))
def test_array_files_corrupted(base, e, cut, suffix):
    data = corrupt(base, e)
    data = data[: max(len(data) - cut, 0)] if cut else data
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"f{suffix}"
        p.write_bytes(data)
        try:
            x, y = load_array_file(p)
        except AAEError:
            return
        assert x.ndim == 2 and x.dtype == np.float32 and np.isfinite(x).all()
        assert y is None or (len(y) == len(x) and y.dtype == np.int64)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.floats(allow_nan=True) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
keys = st.sampled_from(
    [
        "name",
        "model",
        "epochs",
        "seed",
        "optim",
        "network",
        "prior",
        "recon",
        "data",
        "schedule",
        "batch_size",
        "bogus",
        "code_dim",
        "hidden",
        "lr",
    ]
)
config_dicts = st.dictionaries(keys, json_values | st.dictionaries(keys, json_values, max_size=4), max_size=6)


@FUZZ
@given(config_dicts)
def test_config_from_random_dicts(d):
    try:
        cfg = from_dict(Config, d)
    except AAEError:
        return
    assert isinstance(cfg, Config)
    json.dumps(cfg.to_dict())  # whatever is accepted can be saved


override_text = st.text(alphabet=string.printable, max_size=40)
override_keys = st.sampled_from(
    [
        "epochs",
        "optim",
        "network.code_dim",
        "network.hidden",
        "prior.std",
        "optim.recon.lr",
        "prior",
        "network",
        "data.dataset",
        "x.y",
        "",
        "schedule.milestones",
    ]
)


@FUZZ
@given(st.lists(st.one_of(override_text, st.builds(lambda k, v: f"{k}={v}", override_keys, override_text)), max_size=4))
def test_overrides_random(items):
    try:
        cfg = apply_overrides(Config(), items)
    except AAEError:
        return
    assert isinstance(cfg, Config)
    json.dumps(cfg.to_dict())


@FUZZ
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode), st.sampled_from([".toml", ".json"]))
def test_config_files_random_bytes(data, suffix):
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"c{suffix}"
        p.write_bytes(data)
        try:
            load_config_file(p)
        except AAEError:
            pass
