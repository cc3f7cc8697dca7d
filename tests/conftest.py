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


@pytest.fixture
def shared_data() -> Path:
    if not (SHARED_DATA / "mnist").is_dir():
        pytest.skip(f"no MNIST copy at {SHARED_DATA}")
    return SHARED_DATA


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
    "recon.lr=0.01",
    'device="cpu"',
]


def train_args(npz, out, epochs: int, sets: list[str]) -> list[str]:
    """``aae`` arguments that train the default preset on ``npz`` into ``out`` with ``--set`` overrides."""
    args = ["train", "mnist-gaussian-2d", "--out", str(out), "--epochs", str(epochs), "--quiet"]
    for s in [f'data.dataset="{npz}"', *sets]:
        args += ["--set", s]
    return args
