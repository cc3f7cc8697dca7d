"""Data sets as in-memory tensors: MNIST / Fashion-MNIST IDX files, and users' .npy/.npz arrays.

Images come back flattened, ``x`` uint8 of shape ``(n, 784)`` and ``y`` int64 of shape
``(n,)``; :func:`load_splits` turns them into float32 in [0, 1] train / validation / test
splits. Files are looked up in ``--data-dir``, then ``$AAE_DATA``, then the per-user cache
(``$XDG_CACHE_HOME/aae`` or ``~/.cache/aae``), and downloaded there, checksum-verified,
when missing.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from aae.errors import AAEError

SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

#: sha256 of the upstream .gz files (same values as shared/data/README.md)
CHECKSUMS: dict[str, dict[str, str]] = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
}

MIRRORS: dict[str, list[str]] = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ],
    "fashion-mnist": [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ],
}


@dataclass
class Splits:
    """Float32 tensors in [0, 1]: ``x_*`` of shape ``(n, d)``; labels int64 ``(n,)`` (-1: unknown)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    image_shape: tuple[int, ...] | None  # e.g. (28, 28) for drawing; None for tabular data
    n_classes: int

    @property
    def data_dim(self) -> int:
        return self.x_train.shape[1]


# ---------------------------------------------------------------- IDX files


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def parse_idx(raw: bytes, source: str = "<bytes>") -> np.ndarray:
    """Decode an (uncompressed) IDX file of unsigned bytes: magic ``0x0000 08 ndim``, sizes, data."""
    if len(raw) < 4:
        raise AAEError(f"{source}: not an IDX file (only {len(raw)} bytes)")
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise AAEError(f"{source}: not an unsigned-byte IDX file (magic bytes {raw[:4].hex()})")
    ndim = raw[3]
    if not 1 <= ndim <= 4:
        raise AAEError(f"{source}: IDX header claims {ndim} dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise AAEError(f"{source}: truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = math.prod(shape)
    if len(raw) - header != expected:
        raise AAEError(
            f"{source}: IDX header says shape {shape} ({expected} bytes) but the file holds "
            f"{len(raw) - header} bytes of data (truncated or corrupt)"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def read_idx_gz(path: Path) -> np.ndarray:
    """Read a gzip-compressed IDX file; corrupt or truncated files raise :class:`AAEError`."""
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise AAEError(f"{path}: cannot decompress ({e}); the file is corrupt or not gzip") from e
    return parse_idx(raw, str(path))


# ---------------------------------------------------------------- locating and downloading


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "aae"


def search_dirs(data_dir: str | Path | None) -> list[Path]:
    """Where data files are looked for, in order: ``data_dir``, ``$AAE_DATA``, the cache."""
    dirs = [Path(data_dir)] if data_dir else []
    if os.environ.get("AAE_DATA"):
        dirs.append(Path(os.environ["AAE_DATA"]))
    dirs.append(cache_dir())
    return dirs


def download(url: str, dest: Path, sha256: str, timeout: float = 60.0) -> Path:
    """Fetch ``url`` to ``dest`` through a temporary file, verify its sha256, then rename."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name + ".", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            shutil.copyfileobj(resp, out)
        got = sha256_file(Path(tmp))
        if got != sha256:
            raise AAEError(f"download of {url} has sha256 {got}, expected {sha256}; not saved")
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


def find_file(
    dataset: str,
    filename: str,
    data_dir: str | Path | None = None,
    download_missing: bool = True,
    mirrors: dict[str, list[str]] | None = None,
    checksums: dict[str, dict[str, str]] | None = None,
) -> Path:
    """Return a verified local copy of ``dataset/filename``, downloading it if needed.

    Looks for ``<dir>/<dataset>/<filename>`` and ``<dir>/<filename>`` in :func:`search_dirs`.
    A file found with the wrong checksum is an error (it is never silently replaced).
    """
    mirrors = MIRRORS if mirrors is None else mirrors
    checksums = CHECKSUMS if checksums is None else checksums
    want = checksums[dataset][filename]
    tried = []
    for d in search_dirs(data_dir):
        for p in (d / dataset / filename, d / filename):
            tried.append(str(p))
            if p.is_file():
                got = sha256_file(p)
                if got != want:
                    raise AAEError(
                        f"{p}: checksum mismatch (sha256 {got}, expected {want}); "
                        "the file is corrupt or not the upstream file; delete it to re-download"
                    )
                return p
    if not download_missing:
        raise AAEError(f"{dataset} file {filename} not found; looked in: {', '.join(tried)}")
    dest = cache_dir() / dataset / filename
    errors = []
    for base in mirrors.get(dataset, []):
        try:
            return download(base + filename, dest, want)
        except (urllib.error.URLError, OSError, AAEError) as e:
            errors.append(f"{base + filename}: {e}")
    raise AAEError(
        f"{dataset} file {filename} not found (looked in: {', '.join(tried)}) and could not be "
        f"downloaded: {'; '.join(errors) or 'no mirrors'}. Pass --data-dir or set AAE_DATA."
    )


def load_idx_dataset(
    dataset: str, split: str, data_dir: str | Path | None = None, **find_kwargs
) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST-layout data set ``split`` (train|test): ``x`` uint8 ``(n, 784)``, ``y`` int64 ``(n,)``."""
    if dataset not in CHECKSUMS:
        raise AAEError(f"unknown data set {dataset!r}; choose one of {sorted(CHECKSUMS)} or a .npy/.npz path")
    img_name, lab_name = SPLIT_FILES[split]
    img_path = find_file(dataset, img_name, data_dir, **find_kwargs)
    lab_path = find_file(dataset, lab_name, data_dir, **find_kwargs)
    images, labels = read_idx_gz(img_path), read_idx_gz(lab_path)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise AAEError(f"{img_path} / {lab_path}: shapes {images.shape} and {labels.shape} do not match")
    x = torch.from_numpy(images.reshape(len(images), -1).copy())
    return x, torch.from_numpy(labels.astype(np.int64))


# ---------------------------------------------------------------- users' arrays


def load_array_file(path: str | Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Read ``x`` (and ``y`` if present) from ``.npy`` or ``.npz`` (keys ``x``/``y`` or the first array).

    Never unpickles. Returns ``x`` as float32 ``(n, d)`` in [0, 1] (uint8 is divided by 255;
    images ``(n, h, w)`` are flattened) and ``y`` int64 ``(n,)`` or None.
    """
    p = Path(path)
    if not p.is_file():
        raise AAEError(f"data file not found: {p}")
    try:
        loaded = np.load(p, allow_pickle=False)
    except ValueError as e:
        raise AAEError(f"{p}: cannot read without unpickling or not a valid .npy/.npz: {e}") from e
    except Exception as e:  # numpy raises many kinds on garbage (OSError, EOFError, BadZipFile, ...)
        raise AAEError(f"{p}: not a valid .npy/.npz file: {type(e).__name__}: {e}") from e
    y = None
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            try:
                keys = list(loaded.keys())
                if not keys:
                    raise AAEError(f"{p}: the .npz archive holds no arrays")
                x = loaded["x"] if "x" in keys else loaded[keys[0]]
                if "y" in keys:
                    y = loaded["y"]
            except AAEError:
                raise
            except ValueError as e:
                raise AAEError(f"{p}: cannot read without unpickling or corrupt .npz archive: {e}") from e
            except Exception as e:
                raise AAEError(f"{p}: corrupt .npz archive: {type(e).__name__}: {e}") from e
    else:
        x = loaded
    return validate_array(x, y, str(p))


def validate_array(x: np.ndarray, y: np.ndarray | None, source: str = "array") -> tuple[np.ndarray, np.ndarray | None]:
    """Check and convert user data; see :func:`load_array_file` for the contract."""
    x = np.asarray(x)
    if x.dtype.kind not in "uifb":
        raise AAEError(f"{source}: x has dtype {x.dtype}; expected numbers")
    if x.ndim < 2 or x.size == 0:
        raise AAEError(f"{source}: x must have shape (n, d) or (n, h, w) with n, d > 0, got {x.shape}")
    x = x.reshape(len(x), -1)
    if x.dtype == np.uint8:
        x = x.astype(np.float32) / 255.0
    else:
        x = x.astype(np.float32)
        if not np.isfinite(x).all():
            bad = np.argwhere(~np.isfinite(x))[0]
            raise AAEError(f"{source}: x has NaN or Inf values (first at row {bad[0]}, column {bad[1]})")
    if y is not None:
        y = np.asarray(y).reshape(-1)
        if y.dtype.kind not in "iu":
            raise AAEError(f"{source}: labels y must be integers, got dtype {y.dtype}")
        if len(y) != len(x):
            raise AAEError(f"{source}: x has {len(x)} rows but y has {len(y)} labels")
        if len(y) and y.min() < -1:
            raise AAEError(f"{source}: labels must be >= 0, or -1 for an unlabeled example; got {y.min()}")
        y = y.astype(np.int64)
    return x, y


# ---------------------------------------------------------------- splits


def balanced_label_mask(y: torch.Tensor, n_labeled: int, n_classes: int, seed: int) -> torch.Tensor:
    """Boolean mask keeping ``n_labeled`` labels, the same number per class, chosen by ``seed``."""
    if n_labeled % n_classes:
        raise AAEError(f"n_labeled={n_labeled} must be a multiple of the {n_classes} classes (class-balanced)")
    per = n_labeled // n_classes
    if n_labeled > int((y >= 0).sum()):
        raise AAEError(f"n_labeled={n_labeled} labels asked for, but the training split has only {int((y >= 0).sum())}")
    g = torch.Generator().manual_seed(seed)
    keep = torch.zeros(len(y), dtype=torch.bool)
    for c in range(n_classes):
        idx = (y == c).nonzero().squeeze(1)
        if len(idx) < per:
            raise AAEError(f"class {c} has only {len(idx)} examples, fewer than the {per} labels asked for")
        keep[idx[torch.randperm(len(idx), generator=g)[:per]]] = True
    return keep


def load_splits(
    dataset: str,
    data_dir: str | Path | None = None,
    validation: int = 10000,
    n_labeled: int = -1,
    seed: int = 0,
    **find_kwargs,
) -> Splits:
    """Train / validation / test splits as float32 in [0, 1].

    The last ``validation`` training examples are held out (a fixed split, as in the paper's
    50K/10K MNIST protocol). With ``n_labeled >= 0``, only that many training labels are kept
    (class-balanced, chosen by ``seed``); the others become -1. ``.npy``/``.npz`` data sets
    are split 80/10/10 in file order when they hold no separate test split.
    """
    if dataset.endswith((".npy", ".npz")):
        x_np, y_np = load_array_file(dataset)
        n = len(x_np)
        n_test = n // 10
        validation = min(validation, n // 10)
        x = torch.from_numpy(x_np)
        y = torch.from_numpy(y_np) if y_np is not None else torch.full((n,), -1, dtype=torch.long)
        x_tr, y_tr = x[: n - n_test], y[: n - n_test]
        x_te, y_te = x[n - n_test :], y[n - n_test :]
        image_shape = None
        side = int(round(x.shape[1] ** 0.5))
        if side * side == x.shape[1]:
            image_shape = (side, side)
    else:
        xu, y_tr = load_idx_dataset(dataset, "train", data_dir, **find_kwargs)
        xt, y_te = load_idx_dataset(dataset, "test", data_dir, **find_kwargs)
        x_tr, x_te = xu.float() / 255.0, xt.float() / 255.0
        image_shape = (28, 28)
    if not 0 <= validation < len(x_tr):
        raise AAEError(f"validation={validation} must be in [0, {len(x_tr)})")
    n_fit = len(x_tr) - validation
    x_train, y_train = x_tr[:n_fit], y_tr[:n_fit].clone()
    x_val, y_val = x_tr[n_fit:], y_tr[n_fit:]
    n_classes = int(max(y_tr.max(), y_te.max()).item()) + 1 if (y_tr >= 0).any() else 0
    if n_labeled >= 0:
        if n_classes == 0:
            raise AAEError("n_labeled was set but the data set has no labels")
        keep = balanced_label_mask(y_train, n_labeled, n_classes, seed)
        y_train[~keep] = -1
    return Splits(x_train, y_train, x_val, y_val, x_te, y_te, image_shape, n_classes)
