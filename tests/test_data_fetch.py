"""aae.data.fetch: finding files, downloading the missing ones, and the message when neither works.

The resumable downloader against misbehaving servers and ``aae data``: test_download.py.
"""

import gzip
import hashlib
import http.server
import threading
import urllib.error
from functools import partial

import numpy as np
import pytest
import torch

from aae.data import fetch
from aae.data.datasets import load_idx_dataset, load_splits
from aae.data.fetch import download, find_file
from aae.errors import AAEError
from test_data_formats import idx_bytes


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
    with pytest.raises(AAEError, match="checksum mismatch.*delete it to re-download"):
        find_file("mnist", "train-images-idx3-ubyte.gz", tmp_path, checksums=bad)
    assert (tmp_path / "mnist" / "train-images-idx3-ubyte.gz").exists()


def test_missing_without_download_names_the_folders(tmp_path):
    with pytest.raises(AAEError) as e:
        find_file("mnist", "t10k-labels-idx1-ubyte.gz", tmp_path / "nowhere", download_missing=False)
    assert str(e.value) == (
        f"mnist file t10k-labels-idx1-ubyte.gz not found under {tmp_path / 'nowhere'} (--data-dir), "
        f"{tmp_path / 'cache' / 'aae'} (cache); get it with `aae data download mnist` "
        "(or copy it into <folder>/mnist/)"
    )


def offline(*args, **kwargs):
    raise urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))


def download_fails(url, dest, *args, **kwargs):
    try:
        offline()
    except urllib.error.URLError as e:  # chained, as download() does
        raise AAEError(f"download of {url} failed (URLError: {e})") from e


@pytest.mark.parametrize("patch", ["_fetch", "download"])
def test_missing_data_is_one_short_line_and_leaves_no_folder(tmp_path, monkeypatch, patch):
    """The user's report: no data and no network gave a ~1,000-character error and an empty cache folder."""
    home, env, d = tmp_path / "home", tmp_path / "env", tmp_path / "d"
    home.mkdir()
    env.mkdir()
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AAE_DATA", str(env))
    # _fetch: the real download() makes ~/.cache/aae/mnist/ and must remove it; download: nothing is made
    monkeypatch.setattr(fetch, patch, offline if patch == "_fetch" else download_fails)
    with pytest.raises(AAEError) as e:
        load_splits("mnist", d)
    msg = str(e.value)
    cache = home / ".cache" / "aae"
    assert msg.startswith("mnist file train-images-idx3-ubyte.gz not found under ")
    assert f"{d} (--data-dir), {env} ($AAE_DATA), {cache} (cache)" in msg
    assert "downloading it from 3 mirrors failed ([Errno 111] Connection refused)" in msg
    assert msg.endswith("get it with `aae data download mnist` (or copy it into <folder>/mnist/)")
    assert "\n" not in msg and len(msg) - len(f"{d}{env}{cache}") < 250  # the old message listed every URL's error
    assert not (home / ".cache").exists() and not d.exists() and list(env.iterdir()) == []


def test_missing_file_with_no_download_command(tmp_path):
    with pytest.raises(
        AAEError, match=r"^other file f.bin not found under .*, and there is no mirror; put it in one of"
    ):
        find_file("other", "f.bin", tmp_path, checksums={"other": {"f.bin": "0" * 64}}, mirrors={})


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
    assert not dest.parent.exists()  # the folder made for it is gone too
    bad = {"mnist": {**sums, "t10k-labels-idx1-ubyte.gz": "f" * 64}}
    with pytest.raises(AAEError, match=r"downloading it failed \(the downloaded file had the wrong size or checksum\)"):
        find_file("mnist", "t10k-labels-idx1-ubyte.gz", None, mirrors={"mnist": [url]}, checksums=bad)
    assert not (tmp_path / "cache").exists()
