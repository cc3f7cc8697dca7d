import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _seed_and_isolate(monkeypatch, tmp_path):
    """Seed everything; keep the user's cache and $AAE_DATA out of the tests."""
    torch.manual_seed(0)
    np.random.seed(0)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("AAE_DATA", raising=False)
    monkeypatch.delenv("AAE_MIRROR", raising=False)


@pytest.fixture
def shared_data() -> Path:
    if not (SHARED_DATA / "mnist").is_dir():
        pytest.skip(f"no MNIST copy at {SHARED_DATA}")
    return SHARED_DATA


def gen(seed: int = 0) -> torch.Generator:
    """A CPU generator seeded with ``seed``: each test draws its own numbers."""
    return torch.Generator().manual_seed(seed)


def make_tiny_images(n: int = 300, side: int = 8, n_classes: int = 10, seed: int = 0):
    """Class-dependent 8x8 uint8 images: class c lights up row c % side and column c // side."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    x = rng.integers(0, 40, size=(n, side, side))
    for i, c in enumerate(y):
        x[i, c % side, :] = 255
        x[i, :, (c * 3) % side] = 200
    return x.astype(np.uint8), y.astype(np.int64)


@pytest.fixture
def tiny_npz(tmp_path) -> Path:
    x, y = make_tiny_images()
    p = tmp_path / "tiny.npz"
    np.savez(p, x=x, y=y)
    return p


#: --set overrides that make a model small enough for tests
TINY = [
    "network.hidden=[32]",
    "network.disc_hidden=[32]",
    "batch_size=20",
    "data.validation=30",
    "optim.recon.lr=0.01",
    'device="cpu"',
]


def train_args(npz, out, epochs: int, sets: list[str]) -> list[str]:
    """``aae`` arguments that train the default preset on ``npz`` into ``out`` with ``--set`` overrides."""
    args = ["train", "mnist-gaussian-2d", "--out", str(out), "--epochs", str(epochs), "--quiet"]
    for s in [f'data.dataset="{npz}"', *sets]:
        args += ["--set", s]
    return args


def write_svhn_file(path: Path, n: int, seed: int = 0, labels=None) -> dict:
    """An SVHN-layout .mat file (``X`` uint8 32x32x3xN, ``y`` Nx1 in 1..10); returns X, y and its md5 entry."""
    import scipy.io

    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (32, 32, 3, n)).astype(np.uint8)
    y = np.asarray(labels if labels is not None else np.arange(n) % 10 + 1, dtype=np.uint8).reshape(n, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(path, {"X": images, "y": y})
    return {"X": images, "y": y, "md5": "md5:" + hashlib.md5(path.read_bytes()).hexdigest()}


def write_svhn_set(folder: Path, n_train: int = 12, n_test: int = 5, n_extra: int = 7) -> dict:
    """train/test/extra SVHN files in ``folder``; returns the ``checksums`` table for them."""
    sums = {}
    for name, n, seed in (
        ("train_32x32.mat", n_train, 0),
        ("test_32x32.mat", n_test, 1),
        ("extra_32x32.mat", n_extra, 2),
    ):
        sums[name] = write_svhn_file(folder / name, n, seed)["md5"]
    return {"svhn": sums}


def write_tfd_file(path: Path, n: int = 40, side: int = 48, seed: int = 0, drop: str | None = None) -> dict:
    """A TFD-layout .mat file: images N x side x side uint8, folds N x 5, labs_ex, labs_id (N x 1).

    Every 4th face is unlabeled (fold value 0, labs_ex -1, except face 0 with a stray 5);
    in fold k labeled face i is train, valid or test as 1 + (i + k) % 3 says. ``drop``
    leaves one field out.
    """
    import scipy.io

    rng = np.random.default_rng(seed)
    i = np.arange(n)
    labeled = i % 4 != 0
    folds = np.stack([np.where(labeled, 1 + (i + k) % 3, 0) for k in range(5)], 1).astype(np.double)
    labs_ex = np.where(labeled, i % 7 + 1, -1)
    labs_ex[0] = 5
    fields = {
        "images": rng.integers(0, 256, (n, side, side)).astype(np.uint8),
        "folds": folds,
        "labs_ex": labs_ex.reshape(n, 1).astype(np.double),
        "labs_id": (i // 3).reshape(n, 1).astype(np.double),
    }
    if drop:
        del fields[drop]
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(path, fields)
    return fields
