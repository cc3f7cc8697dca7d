"""Train / validation / test splits of in-memory data, and which training labels are kept.

Pure functions of tensors (no files): :mod:`aae.data.datasets` reads the data and picks the
protocol. Labels are int64, -1 for an unlabeled example.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from aae.data.formats import TFD
from aae.errors import AAEError


@dataclass
class Splits:
    """Train / validation / test data: ``x_*`` ``(n, d)``, labels int64 ``(n,)`` (-1: unknown).

    ``x_*`` are float32 (in [0, 1] for images) or, for large image sets, uint8 pixels 0..255:
    pass a slice through :func:`as_float` before giving it to a model.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    image_shape: tuple[int, ...] | None  # (h, w) grey or (c, h, w) colour; None for tabular data
    n_classes: int

    @property
    def data_dim(self) -> int:
        return self.x_train.shape[1]


def as_float(x: torch.Tensor) -> torch.Tensor:
    """Model input from stored data: uint8 pixels become float32 in [0, 1]; float data pass through."""
    return x.float() / 255.0 if x.dtype == torch.uint8 else x


def balanced_label_mask(y: torch.Tensor, n_labeled: int, n_classes: int, seed: int) -> torch.Tensor:
    """Boolean mask ``(n,)`` keeping ``n_labeled`` labels of ``y`` ``(n,)``, the same number per
    class, chosen by ``seed``."""
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


def keep_labels(y_train: torch.Tensor, n_labeled: int, n_classes: int, seed: int) -> None:
    """With ``n_labeled >= 0``, set all but a class-balanced ``n_labeled`` of ``y_train`` to -1 (in place)."""
    if n_labeled >= 0:
        if n_classes == 0:
            raise AAEError("n_labeled was set but the data set has no labels")
        keep = balanced_label_mask(y_train, n_labeled, n_classes, seed)
        y_train[~keep] = -1


def hold_out(
    train: tuple[torch.Tensor, torch.Tensor],
    test: tuple[torch.Tensor, torch.Tensor],
    validation: int,
    image_shape: tuple[int, ...] | None,
    n_labeled: int = -1,
    seed: int = 0,
    extra: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> Splits:
    """Splits from a train and a test set (``(x, y)`` pairs): the last ``validation`` training
    examples are held out for validation (the paper's 50K/10K MNIST protocol).

    ``extra`` (SVHN's extra set) is appended to the training split after the hold-out, so
    validation comes from the train file only. ``n_classes`` is one more than the largest
    label of train and test (0 when the training set has no labels); ``n_labeled``: see
    :func:`keep_labels`.
    """
    (x_tr, y_tr), (x_te, y_te) = train, test
    if not 0 <= validation < len(x_tr):
        raise AAEError(f"validation={validation} must be in [0, {len(x_tr)})")
    n_fit = len(x_tr) - validation
    x_train, y_train = x_tr[:n_fit], y_tr[:n_fit].clone()  # a copy: keep_labels writes into it
    x_val, y_val = x_tr[n_fit:], y_tr[n_fit:]
    if extra is not None:
        x_train, y_train = torch.cat([x_train, extra[0]]), torch.cat([y_train, extra[1]])
    n_classes = int(max(y_tr.max(), y_te.max()).item()) + 1 if (y_tr >= 0).any() else 0
    keep_labels(y_train, n_labeled, n_classes, seed)
    return Splits(x_train, y_train, x_val, y_val, x_te, y_te, image_shape, n_classes)


#: how a user's file is split: ``shuffled`` (rows drawn by :data:`SPLIT_SEED`, whatever the
#: run's seed) or ``file-order`` (the last tenth is the test split; what runs written before
#: the shuffle trained with)
ARRAY_SPLITS = ("shuffled", "file-order")
SPLIT_SEED = 0  # fixed, so that every run on a file tests on the same rows


def array_split_rows(n: int, validation: int = 10000, order: str = "shuffled") -> tuple[np.ndarray, ...]:
    """The file rows ``(train, val, test)`` that :func:`array_splits` gives each split of a file
    of ``n`` rows: test the last tenth of the order, validation the ``validation`` rows before it
    (at most another tenth), train the rest.

    ``order`` ``shuffled`` permutes the rows once by :data:`SPLIT_SEED`, so that a file sorted by
    class still gets every class in each split; ``file-order`` keeps the file's order.
    """
    if order not in ARRAY_SPLITS:
        raise AAEError(f"data.split={order!r}: choose one of {list(ARRAY_SPLITS)}")
    rows = np.random.default_rng(SPLIT_SEED).permutation(n) if order == "shuffled" else np.arange(n)
    n_test = n // 10
    n_fit = n - n_test - min(validation, n_test)
    return rows[:n_fit], rows[n_fit : n - n_test], rows[n - n_test :]


def array_splits(
    x: np.ndarray,
    y: np.ndarray | None,
    validation: int = 10000,
    n_labeled: int = -1,
    seed: int = 0,
    order: str = "shuffled",
) -> Splits:
    """Splits of a user's array ``x`` float32 ``(n, d)``, ``y`` int64 ``(n,)`` or None, on the rows
    of :func:`array_split_rows` (each split in that order); ``n_labeled`` and ``seed``: see
    :func:`keep_labels`.

    ``image_shape`` is ``(side, side)`` when ``d`` is a square number, None otherwise.
    """
    n = len(x)
    train, val, test = (torch.from_numpy(r) for r in array_split_rows(n, validation, order))
    xt = torch.from_numpy(x)
    yt = torch.from_numpy(y) if y is not None else torch.full((n,), -1, dtype=torch.long)
    side = int(round(x.shape[1] ** 0.5))
    image_shape = (side, side) if side * side == x.shape[1] else None
    fit = torch.cat([train, val])  # hold_out keeps the last len(val) of these for validation
    return hold_out((xt[fit], yt[fit]), (xt[test], yt[test]), len(val), image_shape, n_labeled, seed)


def tfd_splits(tfd: TFD, fold: int, n_labeled: int = -1, seed: int = 0) -> Splits:
    """TFD's fold ``fold`` (0-4) as :class:`Splits`: train = the fold's unlabeled and train parts
    (uint8 ``(n, h*w)``, the unlabeled ones with label -1), validation = its valid part, test =
    its test part; labels are the 7 expressions (0-6)."""
    train = np.sort(np.concatenate([tfd.part(fold, "unlabeled"), tfd.part(fold, "train")]))
    val, test = tfd.part(fold, "valid"), tfd.part(fold, "test")
    if len(train) == 0 or len(test) == 0:
        raise AAEError(f"TFD fold {fold} has {len(train)} training and {len(test)} test images; expected some of each")
    y_train = tfd.expression[train].copy()
    y_train[tfd.folds[train, fold] == TFD.PARTS["unlabeled"]] = -1  # whatever labs_ex holds there
    n_classes = int(tfd.expression.max()) + 1
    y_train = torch.from_numpy(y_train)
    keep_labels(y_train, n_labeled, n_classes, seed)
    x, y = torch.from_numpy(tfd.images), torch.from_numpy(tfd.expression)
    val, test = torch.from_numpy(val), torch.from_numpy(test)
    return Splits(x[torch.from_numpy(train)], y_train, x[val], y[val], x[test], y[test], tfd.image_shape, n_classes)
