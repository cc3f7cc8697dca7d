"""The named data sets, and :func:`load_splits`, which turns a name (or a user's file) into splits.

Each name maps to a loader in :data:`LOADERS`: it finds the files (downloading them when
missing, see :mod:`aae.data.fetch`), reads them (:mod:`aae.data.formats`) and applies the
data set's split protocol (:mod:`aae.data.splits`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aae.data import catalog
from aae.data.fetch import find_file
from aae.data.files import describe_dirs, locate
from aae.data.formats import TFD, load_array_file, read_idx_gz, read_svhn_mat, read_tfd_mat
from aae.data.splits import Splits, array_splits, hold_out, tfd_splits
from aae.errors import AAEError

#: suffixes of users' array files, which :func:`load_splits` takes as a path
ARRAY_SUFFIXES = (".npy", ".npz")


def load_idx_dataset(
    dataset: str, split: str, data_dir: str | Path | None = None, **find_kwargs
) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST-layout data set ``split`` (train|test): ``x`` uint8 ``(n, 784)`` pixels 0..255, ``y`` int64 ``(n,)``.

    ``find_kwargs`` go to :func:`~aae.data.fetch.find_file` (e.g. ``download_missing=False``).
    """
    if dataset not in catalog.CHECKSUMS:
        raise AAEError(f"unknown data set {dataset!r}; choose one of {sorted(catalog.CHECKSUMS)} or a .npy/.npz path")
    img_name, lab_name = catalog.SPLIT_FILES[split]
    img_path = find_file(dataset, img_name, data_dir, **find_kwargs)
    lab_path = find_file(dataset, lab_name, data_dir, **find_kwargs)
    images, labels = read_idx_gz(img_path), read_idx_gz(lab_path)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise AAEError(f"{img_path} / {lab_path}: shapes {images.shape} and {labels.shape} do not match")
    x = torch.from_numpy(images.reshape(len(images), -1).copy())  # a writable copy of the read-only buffer
    return x, torch.from_numpy(labels.astype(np.int64))


def load_svhn(split: str, data_dir: str | Path | None = None, **find_kwargs) -> tuple[torch.Tensor, torch.Tensor]:
    """``x`` uint8 ``(n, 3072)`` (channel, row, column) and ``y`` int64 ``(n,)`` in 0..9 of SVHN's
    ``train``, ``test`` or ``extra`` file."""
    path = find_file("svhn", catalog.SVHN_FILES[split], data_dir, **find_kwargs)
    x, y = read_svhn_mat(path)
    return torch.from_numpy(x), torch.from_numpy(y)


def load_tfd(data_dir: str | Path | None = None) -> TFD:
    """Find and read ``tfd/TFD_48x48.mat`` (no checksum is published; it is never downloaded)."""
    path = locate("tfd", catalog.TFD_FILE, data_dir)
    if path is None:
        where = describe_dirs(data_dir)
        raise AAEError(f"{catalog.TFD_FILE} not found under {where}; {catalog.TFD_ON_REQUEST}: put it in <folder>/tfd/")
    return read_tfd_mat(path)


@dataclass(frozen=True)
class Request:
    """What :func:`load_splits` was asked for, handed to every loader of :data:`LOADERS`."""

    data_dir: str | Path | None = None
    validation: int = 10000  # examples held out of the training file
    n_labeled: int = -1  # training labels kept, class-balanced; -1: all
    seed: int = 0  # chooses the kept labels
    fold: int = 0  # TFD's fold, 0-4
    split: str = "shuffled"  # a user's file: its rows shuffled once by a fixed seed, or in file order
    find_kwargs: dict[str, Any] = field(default_factory=dict)  # for find_file (tests: checksums=...)


def _idx_splits(dataset: str, req: Request) -> Splits:
    """MNIST / Fashion-MNIST: float32 in [0, 1] (small enough to convert once)."""
    xu, y_tr = load_idx_dataset(dataset, "train", req.data_dir, **req.find_kwargs)
    xt, y_te = load_idx_dataset(dataset, "test", req.data_dir, **req.find_kwargs)
    train, test = (xu.float() / 255.0, y_tr), (xt.float() / 255.0, y_te)
    return hold_out(train, test, req.validation, (28, 28), req.n_labeled, req.seed)


def _svhn_splits(req: Request, with_extra: bool) -> Splits:
    """SVHN: uint8 pixels (with extra, float32 would take 7.5 GB); ``with_extra`` appends the extra file to training."""
    train = load_svhn("train", req.data_dir, **req.find_kwargs)
    test = load_svhn("test", req.data_dir, **req.find_kwargs)
    extra = load_svhn("extra", req.data_dir, **req.find_kwargs) if with_extra else None
    return hold_out(train, test, req.validation, (3, 32, 32), req.n_labeled, req.seed, extra)


def _tfd(req: Request) -> Splits:
    """TFD: its folds decide the splits (``validation`` is not used)."""
    return tfd_splits(load_tfd(req.data_dir), req.fold, req.n_labeled, req.seed)


#: the named data sets: name -> loader
LOADERS: dict[str, Callable[[Request], Splits]] = {
    "mnist": partial(_idx_splits, "mnist"),
    "fashion-mnist": partial(_idx_splits, "fashion-mnist"),
    "svhn": partial(_svhn_splits, with_extra=False),
    "svhn+extra": partial(_svhn_splits, with_extra=True),
    "tfd": _tfd,
}
DATASETS = tuple(LOADERS)


def _array_file(path: str, req: Request) -> Splits:
    """A user's .npy/.npz file: float32, split 80/10/10 (see :func:`~aae.data.splits.array_split_rows`)."""
    x, y = load_array_file(path)
    return array_splits(x, y, req.validation, req.n_labeled, req.seed, req.split)


def load_splits(
    dataset: str,
    data_dir: str | Path | None = None,
    validation: int = 10000,
    n_labeled: int = -1,
    seed: int = 0,
    fold: int = 0,
    split: str = "shuffled",
    **find_kwargs,
) -> Splits:
    """Train / validation / test splits of ``dataset`` (see :data:`DATASETS`, or a .npy/.npz path).

    - ``mnist``, ``fashion-mnist``: float32 in [0, 1]; the last ``validation`` of the 60,000
      training images are held out (the paper's 50K/10K MNIST protocol); test: 10,000.
    - ``svhn``: uint8 ``(n, 3*32*32)``; the last ``validation`` of the 73,257 training images
      are held out; test: the 26,032 test images. ``svhn+extra``: the same, with the 531,131
      extra images appended to the training split (the usual protocol for semi-supervised
      SVHN, 604,388 - ``validation`` images; the validation images come from the train file,
      which is harder than extra and closer to test). Needs about 4 GB of memory to load.
    - ``tfd``: uint8 ``(n, 48*48)``; fold ``fold`` (0-4) of the file decides: train = its
      unlabeled and train parts, validation = its valid part, test = its test part
      (``validation`` is not used). Labels are the 7 expressions, -1 for unlabeled faces.
    - ``.npy``/``.npz``: float32, split 80/10/10 on rows shuffled once by a fixed seed (the same
      rows for every run; ``split="file-order"``: the last tenth of the file is the test split),
      see :func:`~aae.data.splits.array_split_rows`.

    With ``n_labeled >= 0``, only that many training labels are kept (class-balanced, chosen
    by ``seed``); the others become -1. ``find_kwargs`` go to :func:`~aae.data.fetch.find_file`.
    """
    req = Request(data_dir, validation, n_labeled, seed, fold, split, find_kwargs)
    if dataset.endswith(ARRAY_SUFFIXES):
        return _array_file(dataset, req)
    loader = LOADERS.get(dataset)
    if loader is None:
        raise AAEError(f"unknown data set {dataset!r}; choose one of {list(DATASETS)} or a .npy/.npz file")
    return loader(req)
