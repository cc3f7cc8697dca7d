"""File formats, bytes to arrays: IDX (MNIST), MATLAB ``.mat`` (SVHN, TFD), users' ``.npy``/``.npz``.

Every reader checks what it reads: a corrupt, truncated or foreign file raises one
:class:`AAEError` line naming the path and what is wrong, never an error from inside
NumPy or SciPy. Nothing here looks files up or downloads them (see :mod:`aae.data.fetch`).
"""

from __future__ import annotations

import gzip
import math
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aae.data import catalog
from aae.errors import AAEError

# ---------------------------------------------------------------- IDX files (MNIST, Fashion-MNIST)


def parse_idx(raw: bytes, source: str = "<bytes>") -> np.ndarray:
    """Decode an (uncompressed) IDX file of unsigned bytes: magic ``0x0000 08 ndim``, sizes, data.

    Returns a read-only uint8 array of the header's shape (e.g. ``(n, 28, 28)`` images, ``(n,)`` labels).
    """
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
    """Read a gzip-compressed IDX file (see :func:`parse_idx`); corrupt or truncated files raise :class:`AAEError`."""
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise AAEError(f"{path}: cannot decompress ({e}); the file is corrupt or not gzip") from e
    return parse_idx(raw, str(path))


# ---------------------------------------------------------------- MATLAB files: SVHN, TFD


def read_mat(path: Path, fields: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The named variables of a MATLAB v4-v7.2 ``.mat`` file; unreadable files and missing fields raise."""
    import scipy.io  # only the .mat data sets need it; it adds ~0.3 s to the CLI's start

    try:
        d = scipy.io.loadmat(path)
    except NotImplementedError as e:  # scipy's answer to v7.3 (HDF5) files
        raise AAEError(f"{path}: a MATLAB v7.3 (HDF5) file, which is not supported; re-save it with -v7 ({e})") from e
    except Exception as e:  # scipy raises many kinds on garbage and truncation (ValueError, TypeError, ...)
        raise AAEError(f"{path}: not a readable MATLAB .mat file ({type(e).__name__}: {e})") from e
    missing = [f for f in fields if f not in d]
    if missing:
        found = sorted(k for k in d if not k.startswith("__"))
        raise AAEError(f"{path}: field(s) {missing} missing (found {found}); not the expected file")
    return {f: d[f] for f in fields}


def _integer_labels(y: np.ndarray, path: Path, field: str, n: int) -> np.ndarray:
    """``y`` as int64 ``(n,)``; non-integral values or a count other than ``n`` raise."""
    y = np.asarray(y).reshape(-1)
    if y.dtype.kind not in "iuf" or len(y) != n:
        raise AAEError(f"{path}: {field} has {len(y)} values of dtype {y.dtype}; expected {n} integers")
    if y.dtype.kind == "f" and not np.array_equal(y, np.round(y)):
        raise AAEError(f"{path}: {field} holds non-integer values")
    return y.astype(np.int64)


def read_svhn_mat(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """An SVHN cropped-digit file: ``X`` uint8 32x32x3xN, ``y`` Nx1 with 1..10 (10 is the digit 0).

    Returns ``x`` uint8 ``(N, 3072)``, each row an image in channel, row, column order (so
    ``x.reshape(N, 3, 32, 32)`` is the usual NCHW layout), and ``y`` int64 ``(N,)`` in 0..9.
    """
    d = read_mat(path, ("X", "y"))
    images = d["X"]
    if images.ndim != 4 or images.shape[:3] != (32, 32, 3) or images.dtype != np.uint8:
        raise AAEError(f"{path}: X has shape {images.shape} and dtype {images.dtype}; expected uint8 32 x 32 x 3 x N")
    n = images.shape[3]
    y = _integer_labels(d["y"], path, "y", n)
    bad = (y < 1) | (y > 10)
    if bad.any():
        raise AAEError(f"{path}: label {y[bad][0]} at index {int(np.argmax(bad))} is outside 1..10")
    # (row, column, channel, image) -> (image, channel, row, column), one contiguous copy
    x = np.ascontiguousarray(images.transpose(3, 2, 0, 1)).reshape(n, -1)
    return x, y % 10


@dataclass
class TFD:
    """The Toronto Face Database file: ``images`` uint8 ``(n, h*w)``, ``folds`` ``(n, 5)``,
    ``expression`` int64 ``(n,)`` in 0..6 (-1: unlabeled), ``identity`` int64 ``(n,)``."""

    images: np.ndarray
    folds: np.ndarray
    expression: np.ndarray
    identity: np.ndarray
    image_shape: tuple[int, int]

    #: the value of ``folds[:, k]`` for each part of fold ``k``
    PARTS = {"unlabeled": 0, "train": 1, "valid": 2, "test": 3}

    def part(self, fold: int, name: str) -> np.ndarray:
        """Indices of ``name`` (unlabeled, train, valid, test) in ``fold`` (0-4)."""
        if not 0 <= fold < self.folds.shape[1]:
            raise AAEError(f"TFD fold must be in 0..{self.folds.shape[1] - 1}, got {fold}")
        return np.flatnonzero(self.folds[:, fold] == self.PARTS[name])


def read_tfd_mat(path: Path) -> TFD:
    """Read ``TFD_48x48.mat``: ``images`` N x 48 x 48 uint8, ``folds`` N x 5 (0 unlabeled, 1 train,
    2 valid, 3 test), ``labs_ex`` (expression 1..7; other values: unlabeled), ``labs_id`` (identity).
    """
    d = read_mat(path, catalog.TFD_FIELDS)
    images, folds = d["images"], np.asarray(d["folds"])
    if images.ndim != 3 or images.dtype != np.uint8 or len(images) == 0:
        raise AAEError(f"{path}: images has shape {images.shape} and dtype {images.dtype}; expected uint8 N x 48 x 48")
    n = len(images)
    if folds.shape != (n, 5) or folds.dtype.kind not in "iuf" or not np.isin(folds, [0, 1, 2, 3]).all():
        raise AAEError(f"{path}: folds has shape {folds.shape}; expected {n} x 5 with values 0 (unlabeled) to 3 (test)")
    expression = _integer_labels(d["labs_ex"], path, "labs_ex", n)
    expression = np.where((expression >= 1) & (expression <= 7), expression - 1, -1)
    identity = _integer_labels(d["labs_id"], path, "labs_id", n)
    x = np.ascontiguousarray(images).reshape(n, -1)
    return TFD(x, folds.astype(np.int64), expression, identity, (images.shape[1], images.shape[2]))


# ---------------------------------------------------------------- users' arrays (.npy / .npz)

NPY_MAGIC = b"\x93NUMPY"
#: a zip file's first local header, or an empty archive's end record: what numpy.load takes for .npz
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")


def _check_array_signature(p: Path) -> None:
    """Raise unless ``p`` starts like a .npy or .npz file.

    numpy.load takes every other file for a pickle, so random bytes would be reported as
    "pickled data"; say what the file is not instead.
    """
    try:
        with open(p, "rb") as f:
            head = f.read(len(NPY_MAGIC))
    except OSError as e:
        raise AAEError(f"{p}: cannot read ({e.strerror or e})") from e
    if head.startswith(NPY_MAGIC) or head.startswith(ZIP_MAGICS):
        return
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:  # pickle protocol 2-5's opening bytes
        raise AAEError(f"{p}: a Python pickle, not a .npz/.npy archive; pickles are never loaded")
    raise AAEError(f"{p}: not a valid .npz/.npy archive (it starts with neither the .npy nor the zip signature)")


def _load_error(p: Path, e: Exception) -> AAEError:
    """The message for numpy failing on ``p``, a file that starts like a .npy/.npz."""
    if isinstance(e, ValueError) and "allow_pickle" in str(e):
        return AAEError(f"{p}: holds object arrays, which cannot be read without unpickling; save numeric arrays")
    # numpy raises many kinds on corrupt files (ValueError, OSError, EOFError, BadZipFile, ...)
    return AAEError(f"{p}: not a valid .npz/.npy archive ({type(e).__name__}: {e})")


def load_array_file(path: str | Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Read ``x`` (and ``y`` if present) from ``.npy`` or ``.npz``.

    An ``.npz`` names its arrays ``x`` and ``y``; one holding a single array under another name
    (``np.savez(f, X)`` gives ``arr_0``) has it taken as ``x``; several arrays and no ``x`` are
    refused with the names found. Never unpickles. Returns ``x`` as float32 ``(n, d)`` (uint8 is
    divided by 255; images ``(n, h, w)`` or ``(n, c, h, w)`` are flattened) and ``y`` int64
    ``(n,)`` or None.
    """
    p = Path(path)
    if not p.is_file():
        raise AAEError(f"data file not found: {p}")
    _check_array_signature(p)
    try:
        loaded = np.load(p, allow_pickle=False)
    except Exception as e:
        raise _load_error(p, e) from e
    y = None
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            keys = list(loaded.keys())
            if not keys:
                raise AAEError(f"{p}: the .npz archive holds no arrays")
            if "x" not in keys and len([k for k in keys if k != "y"]) != 1:
                raise AAEError(f"{p}: the .npz archive holds arrays {keys} and none named 'x'; save the data as "
                               "x (and the labels as y): np.savez(path, x=..., y=...)")  # fmt: skip
            try:  # the members are read (and can fail) here, not in np.load
                x = loaded["x"] if "x" in keys else loaded[next(k for k in keys if k != "y")]
                if "y" in keys:
                    y = loaded["y"]
            except Exception as e:
                raise _load_error(p, e) from e
    else:
        x = loaded
    return validate_array(x, y, str(p))


def validate_array(x: np.ndarray, y: np.ndarray | None, source: str = "array") -> tuple[np.ndarray, np.ndarray | None]:
    """Check and convert user data; see :func:`load_array_file` for the contract."""
    x = np.asarray(x)
    if x.dtype.kind not in "uifb":
        raise AAEError(f"{source}: x has dtype {x.dtype}; expected numbers")
    if x.ndim < 2 or x.ndim > 4 or x.size == 0:
        raise AAEError(
            f"{source}: x must have shape (n, d), (n, h, w) or (n, c, h, w) with every size > 0, got {x.shape}"
        )
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
