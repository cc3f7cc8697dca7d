"""Checks of the estimators' parameters and inputs, with the errors scikit-learn users expect."""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets

from aae.errors import AAEError
from aae.priors import Prior
from aae.training import NumericalFault

#: the float dtypes the estimators accept (others are converted to the first)
FLOATS = (np.float64, np.float32)

#: a parameter's check: ``check(name, value)`` raises ``TypeError`` or ``ValueError`` naming it
Check = Callable[[str, Any], None]


@contextmanager
def user_errors() -> Iterator[None]:
    """Re-raise the library's :class:`AAEError` as the ``ValueError`` scikit-learn users expect."""
    try:
        yield
    except NumericalFault as e:
        raise ValueError(f"training diverged: {e}. Lower the learning rates or check the input scale") from e
    except AAEError as e:
        raise ValueError(str(e)) from e


def check_int(name: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value!r}")


def check_positive(name: str, value: Any, allow_zero: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")


def check_non_negative(name: str, value: Any) -> None:
    check_positive(name, value, allow_zero=True)


def check_fraction(name: str, value: Any) -> None:
    """A number in [0, 1)."""
    check_non_negative(name, value)
    if value >= 1:
        raise ValueError(f"{name} must be < 1, got {value!r}")


def check_sizes(name: str, value: Any) -> list[int]:
    """Layer sizes: an int or a non-empty sequence of positive ints."""
    sizes = [value] if isinstance(value, numbers.Integral) and not isinstance(value, bool) else value
    try:
        sizes = list(sizes)
    except TypeError:
        raise TypeError(f"{name} must be a sequence of positive integers, got {value!r}") from None
    if not sizes:
        raise ValueError(f"{name} must hold at least one layer size")
    for s in sizes:
        check_int(f"every entry of {name}", s, 1)
    return [int(s) for s in sizes]


def check_verbose(name: str, value: Any) -> None:
    """0, 1, 2 (or more), or a bool (``True`` is 1)."""
    check_int(name, int(value) if isinstance(value, bool) else value, 0)


def at_least(low: int) -> Check:
    """An integer >= ``low``."""
    return lambda name, value: check_int(name, value, low)


def one_of(*choices: str) -> Check:
    def check(name: str, value: Any) -> None:
        if value not in choices:
            raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")

    return check


def optional(check: Check) -> Check:
    """``check``, or None."""
    return lambda name, value: None if value is None else check(name, value)


def check_prior(name: str, value: Any) -> None:
    if not (isinstance(value, (str, Prior)) or callable(value)):
        raise TypeError(f"{name} must be a name, a callable f(n, generator) or an aae Prior, not {value!r}")


def check_dict(name: str, value: Any) -> None:
    if value is not None and not isinstance(value, dict):
        raise TypeError(f"{name} must be a dict or None, got {value!r}")


def warn_scale(X: np.ndarray, output: str) -> None:
    """A sigmoid decoder can only produce [0, 1]: say so when ``X`` leaves that range."""
    if output == "sigmoid" and X.size and (X.min() < -1e-6 or X.max() > 1 + 1e-6):  # rounding of scalers
        warnings.warn(
            f"X holds values in [{X.min():.3g}, {X.max():.3g}] but output='sigmoid' decodes to [0, 1]; "
            "scale X to [0, 1] (e.g. MinMaxScaler) or standardize it and use output='linear'",
            UserWarning,
            stacklevel=4,
        )


def seed_from(random_state: Any) -> int:
    """An int seed for the library's generators from a scikit-learn ``random_state``."""
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def encode_targets(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(classes, codes)``: sorted labels of the labeled samples and each sample's index in them.

    ``-1`` (numeric labels only) marks an unlabeled sample and stays -1.
    """
    check_classification_targets(y)
    if y.dtype.kind in "iuf":
        unlabeled = y == -1
    elif y.dtype.kind == "O":
        unlabeled = np.array([v == -1 for v in y], dtype=bool)
    else:
        unlabeled = np.zeros(len(y), dtype=bool)
    classes = np.unique(y[~unlabeled])
    if len(classes) < 2:
        raise ValueError(
            f"a classifier needs labeled samples of at least 2 classes; got {len(classes)} class"
            f"{'' if len(classes) == 1 else 'es'} ({int(unlabeled.sum())} unlabeled samples, marked -1)"
        )
    codes = np.full(len(y), -1, dtype=np.int64)
    codes[~unlabeled] = np.searchsorted(classes, y[~unlabeled])
    return classes, codes
