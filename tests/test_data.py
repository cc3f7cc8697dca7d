import gzip
import hashlib
import http.server
import threading
from functools import partial

import numpy as np
import pytest
import torch

from aae.data import (
    balanced_label_mask,
    download,
    find_file,
    load_array_file,
    load_idx_dataset,
    load_splits,
    parse_idx,
    read_idx_gz,
)
from aae.errors import AAEError


def idx_bytes(arr: np.ndarray) -> bytes:
    header = bytes([0, 0, 8, arr.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
    return header + arr.astype(np.uint8).tobytes()


def write_idx_set(folder, n=30, seed=0):
    """A tiny MNIST-layout data set; returns {filename: sha256}."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (n, 28, 28)),
        "train-labels-idx1-ubyte.gz": np.arange(n) % 10,
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (10, 28, 28)),
        "t10k-labels-idx1-ubyte.gz": np.arange(10),
    }
    folder.mkdir(parents=True, exist_ok=True)
    sums = {}
    for name, arr in arrays.items():
        data = gzip.compress(idx_bytes(arr))
        (folder / name).write_bytes(data)
        sums[name] = hashlib.sha256(data).hexdigest()
    return sums


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


def test_found_in_data_dir_then_env(tmp_path, monkeypatch):
    sums = write_idx_set(tmp_path / "d" / "mnist")
    checks = {"mnist": sums}
    x, y = load_idx_dataset("mnist", "train", tmp_path / "d", checksums=checks, download_missing=False)
    assert x.shape == (30, 784) and x.dtype == torch.uint8 and y.tolist()[:3] == [0, 1, 2]
    monkeypatch.setenv("AAE_DATA", str(tmp_path / "d"))
    x2, _ = load_idx_dataset("mnist", "test", None, checksums=checks, download_missing=False)
    assert x2.shape == (10, 784)


def test_checksum_mismatch_is_refused_and_file_kept(tmp_path):
    sums = write_idx_set(tmp_path / "mnist")
    bad = {"mnist": {**sums, "train-images-idx3-ubyte.gz": "0" * 64}}
    with pytest.raises(AAEError, match="checksum mismatch"):
        find_file("mnist", "train-images-idx3-ubyte.gz", tmp_path, checksums=bad)
    assert (tmp_path / "mnist" / "train-images-idx3-ubyte.gz").exists()


def test_missing_without_download_names_the_places(tmp_path):
    with pytest.raises(AAEError, match=r"not found; looked in: .*nowhere"):
        find_file("mnist", "t10k-labels-idx1-ubyte.gz", tmp_path / "nowhere", download_missing=False)


@pytest.fixture
def http_server(tmp_path):
    root = tmp_path / "www"
    sums = write_idx_set(root / "mnist")
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/mnist/", sums
    server.shutdown()
    server.server_close()


def test_download_from_mirror_with_checksum(tmp_path, http_server):
    url, sums = http_server
    mirrors = {"mnist": ["http://127.0.0.1:9/dead/", url]}  # the first mirror is unreachable
    x, y = load_idx_dataset("mnist", "train", tmp_path / "empty", mirrors=mirrors, checksums={"mnist": sums})
    assert x.shape == (30, 784)
    cached = tmp_path / "cache" / "aae" / "mnist" / "train-images-idx3-ubyte.gz"
    assert cached.is_file()
    # second time it is found in the cache, no server needed
    load_idx_dataset("mnist", "train", None, mirrors={"mnist": []}, checksums={"mnist": sums})


def test_download_with_wrong_checksum_leaves_nothing(tmp_path, http_server):
    url, sums = http_server
    dest = tmp_path / "out" / "f.gz"
    with pytest.raises(AAEError, match="expected 000"):
        download(url + "train-labels-idx1-ubyte.gz", dest, "0" * 64)
    assert not dest.exists() and not list(dest.parent.iterdir())
    bad = {"mnist": {**sums, "t10k-labels-idx1-ubyte.gz": "f" * 64}}
    with pytest.raises(AAEError, match="could not be downloaded"):
        find_file("mnist", "t10k-labels-idx1-ubyte.gz", None, mirrors={"mnist": [url]}, checksums=bad)


def test_real_mnist_splits(shared_data):
    s = load_splits("mnist", shared_data, validation=10000, n_labeled=10000, seed=0)
    assert s.x_train.shape == (50000, 784) and s.x_val.shape == (10000, 784) and s.x_test.shape == (10000, 784)
    assert s.x_train.dtype == torch.float32 and 0 <= s.x_train.min() and s.x_train.max() <= 1
    assert s.n_classes == 10 and s.image_shape == (28, 28)
    counts = torch.bincount(s.y_train[s.y_train >= 0], minlength=10)
    assert counts.tolist() == [1000] * 10 and (s.y_train == -1).sum() == 40000
    assert torch.bincount(s.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_balanced_mask_is_seeded():
    y = torch.arange(1000) % 10
    a, b, c = (balanced_label_mask(y, 100, 10, s) for s in (0, 0, 1))
    assert torch.equal(a, b) and not torch.equal(a, c) and a.sum() == 100
    with pytest.raises(AAEError, match="multiple of the 10 classes"):
        balanced_label_mask(y, 105, 10, 0)


def test_array_files(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, (50, 4, 4)).astype(np.uint8)
    np.save(tmp_path / "x.npy", x)
    xs, ys = load_array_file(tmp_path / "x.npy")
    assert xs.shape == (50, 16) and xs.dtype == np.float32 and xs.max() <= 1 and ys is None
    np.savez(tmp_path / "xy.npz", x=x, y=np.arange(50) % 3)
    s = load_splits(str(tmp_path / "xy.npz"))
    assert s.image_shape == (4, 4) and len(s.x_test) == 5 and len(s.x_val) == 5 and s.n_classes == 3


@pytest.mark.parametrize(
    "make, msg",
    [
        (lambda p: np.save(p / "f.npy", np.array([[0.1, np.nan]])), "NaN or Inf values .*row 0, column 1"),
        (lambda p: np.save(p / "f.npy", np.zeros(5)), r"shape \(n, d\)"),
        (lambda p: np.save(p / "f.npy", np.array([{"a": 1}], dtype=object)), "unpickling"),
        (lambda p: (p / "f.npy").write_bytes(b"\x93NUMPY garbage"), "not a valid|unpickling"),
        (lambda p: np.savez(p / "f.npz", x=np.zeros((4, 2)), y=np.zeros(3, int)), "4 rows but y has 3"),
        (lambda p: np.savez(p / "f.npz", x=np.zeros((4, 2)), y=np.zeros(4)), "must be integers"),
        (lambda p: np.save(p / "f.npy", np.array([["a", "b"]])), "expected numbers"),
    ],
)
def test_bad_arrays(tmp_path, make, msg):
    make(tmp_path)
    path = next(tmp_path.glob("f.*"))
    with pytest.raises(AAEError, match=msg):
        load_array_file(path)


def test_missing_array_file(tmp_path):
    with pytest.raises(AAEError, match="data file not found"):
        load_array_file(tmp_path / "nope.npz")
