"""aae.data.formats: the IDX reader and users' .npy/.npz files (the .mat readers: test_data_mat.py)."""

import gzip
import pickle

import numpy as np
import pytest

from aae.data.formats import load_array_file, parse_idx, read_idx_gz, validate_array
from aae.errors import AAEError


def idx_bytes(arr: np.ndarray) -> bytes:
    """``arr`` as an uncompressed unsigned-byte IDX file."""
    header = bytes([0, 0, 8, arr.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
    return header + arr.astype(np.uint8).tobytes()


def test_parse_idx_round_trip_and_errors():
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(parse_idx(idx_bytes(arr)), arr)
    with pytest.raises(AAEError, match="truncated or corrupt"):
        parse_idx(idx_bytes(arr)[:-1])
    with pytest.raises(AAEError, match="not an unsigned-byte IDX"):
        parse_idx(b"\x00\x00\x0d\x01" + bytes(8))
    with pytest.raises(AAEError, match="only 2 bytes"):
        parse_idx(b"\x00\x00")
    with pytest.raises(AAEError, match="truncated IDX header"):
        parse_idx(b"\x00\x00\x08\x03\x00\x00")


def test_corrupt_gzip_is_reported(tmp_path):
    good = gzip.compress(idx_bytes(np.zeros((4, 2), np.uint8)))
    (tmp_path / "cut.gz").write_bytes(good[: len(good) // 2])
    with pytest.raises(AAEError, match="cut.gz: cannot decompress"):
        read_idx_gz(tmp_path / "cut.gz")
    (tmp_path / "plain.gz").write_bytes(b"hello, not gzip")
    with pytest.raises(AAEError, match="plain.gz: cannot decompress"):
        read_idx_gz(tmp_path / "plain.gz")


def test_array_files(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, (50, 4, 4)).astype(np.uint8)
    np.save(tmp_path / "x.npy", x)
    xs, ys = load_array_file(tmp_path / "x.npy")
    assert xs.shape == (50, 16) and xs.dtype == np.float32 and xs.max() <= 1 and ys is None
    np.testing.assert_array_equal(xs, x.reshape(50, 16) / np.float32(255))
    np.savez(tmp_path / "xy.npz", first=np.zeros((3, 2)), y=np.array([0, 1, -1]))
    xs, ys = load_array_file(tmp_path / "xy.npz")  # no key "x", one array besides y: that one
    assert xs.shape == (3, 2) and ys.tolist() == [0, 1, -1] and ys.dtype == np.int64
    np.savez(tmp_path / "unnamed.npz", np.ones((5, 2, 3, 3)))  # np.savez(f, X) names it arr_0
    xs, ys = load_array_file(tmp_path / "unnamed.npz")
    assert xs.shape == (5, 18) and ys is None


@pytest.mark.parametrize(
    "make, msg",
    [
        (lambda p: np.save(p / "f.npy", np.array([[0.1, np.nan]])), "NaN or Inf values .*row 0, column 1"),
        (lambda p: np.save(p / "f.npy", np.zeros(5)), r"shape \(n, d\)"),
        (lambda p: np.save(p / "f.npy", np.array([{"a": 1}], dtype=object)), "object arrays.*without unpickling"),
        (lambda p: (p / "f.npy").write_bytes(b"\x93NUMPY garbage"), r"f.npy: not a valid .npz/.npy archive \("),
        (lambda p: np.savez(p / "f.npz", x=np.zeros((4, 2)), y=np.zeros(3, int)), "4 rows but y has 3"),
        (lambda p: np.savez(p / "f.npz", x=np.zeros((4, 2)), y=np.zeros(4)), "must be integers"),
        (lambda p: np.savez(p / "f.npz", x=np.array([None, 1])), "object arrays.*without unpickling"),
        (lambda p: np.savez(p / "f.npz"), "holds no arrays"),
        (lambda p: np.save(p / "f.npy", np.array([["a", "b"]])), "expected numbers"),
        (lambda p: np.savez(p / "f.npz", x=np.zeros((4, 2)), y=np.full(4, -2)), "labels must be >= 0, or -1"),
        (lambda p: np.savez(p / "f.npz", a=np.zeros((4, 2)), b=np.zeros(4)), r"arrays \['a', 'b'\] and none named 'x'"),
        (lambda p: np.save(p / "f.npy", np.zeros((4, 1, 2, 3, 3))), r"\(n, c, h, w\).*got \(4, 1, 2, 3, 3\)"),
    ],
)
def test_bad_arrays(tmp_path, make, msg):
    make(tmp_path)
    path = next(tmp_path.glob("f.*"))
    with pytest.raises(AAEError, match=msg) as e:
        load_array_file(path)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("name", ["f.npz", "f.npy"])
def test_random_bytes_are_not_called_pickled_data(tmp_path, name):
    """numpy.load calls any file that is neither .npy nor zip "pickled data"; say what it is not instead."""
    p = tmp_path / name
    p.write_bytes(np.random.default_rng(0).integers(0, 256, 1000, dtype=np.uint8).tobytes())
    with pytest.raises(AAEError) as e:
        load_array_file(p)
    msg = str(e.value)
    assert msg.startswith(f"{p}: not a valid .npz/.npy archive") and "pickle" not in msg
    p.write_bytes(b"")  # empty too
    with pytest.raises(AAEError, match="not a valid .npz/.npy archive"):
        load_array_file(p)


def test_a_pickle_is_named_and_never_loaded(tmp_path):
    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('unpickled!')",))

    p = tmp_path / "f.npz"
    p.write_bytes(pickle.dumps(Boom()))
    with pytest.raises(AAEError, match=r"f.npz: a Python pickle, not a .npz/.npy archive; pickles are never loaded"):
        load_array_file(p)


def test_truncated_npz_archive(tmp_path):
    np.savez(tmp_path / "f.npz", x=np.arange(4000.0).reshape(100, 40))
    raw = (tmp_path / "f.npz").read_bytes()
    (tmp_path / "f.npz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(AAEError, match=r"f.npz: not a valid .npz/.npy archive \(BadZipFile"):
        load_array_file(tmp_path / "f.npz")


def test_missing_array_file(tmp_path):
    with pytest.raises(AAEError, match="data file not found"):
        load_array_file(tmp_path / "nope.npz")
    with pytest.raises(AAEError, match="data file not found"):
        load_array_file(tmp_path)  # a folder


def test_validate_array_keeps_floats_and_flattens():
    x = np.linspace(-3, 3, 24).reshape(2, 3, 4)
    xs, ys = validate_array(x, np.array([1, 0], dtype=np.uint8))
    assert xs.shape == (2, 12) and xs.dtype == np.float32 and xs.min() == -3  # floats are not rescaled
    assert ys.dtype == np.int64
