"""Estimator parameters declared once each: default, type and description for the docs, check.

:func:`param` declares one (a dataclass field); :func:`estimator` turns a class's parameters,
its own and its mixins', into its ``__init__`` (scikit-learn reads the parameters from that
signature) and into the "Parameters" section of its docstring; :func:`check_params` runs
their checks.
"""

from __future__ import annotations

import dataclasses
import inspect
import string
import textwrap
from typing import Any, TypeVar, dataclass_transform

from aae.sklearn._checks import Check

_T = TypeVar("_T", bound=type)


def param(*, default: Any, kind: str, doc: str, check: Check | None = None, kw_only: bool = True) -> Any:
    """A constructor parameter: its default, its numpydoc type ``kind``, its description and its check.

    ``doc`` is a :class:`string.Template`: ``$name`` takes the estimator's ``_doc_words[name]``.
    Parameters are keyword-only unless ``kw_only=False``.
    """
    metadata = {"kind": kind, "doc": doc, "check": check}
    return dataclasses.field(default=default, kw_only=kw_only, metadata=metadata)


@dataclass_transform(kw_only_default=True, field_specifiers=(param,))
def with_params(cls: _T) -> _T:
    """Class decorator: the ``__init__`` of the parameters declared with :func:`param` (a dataclass's).

    scikit-learn reads the parameters from its signature; ``dataclass_transform`` shows it to
    type checkers and IDEs.
    """
    return dataclasses.dataclass(eq=False, repr=False)(cls)


@dataclass_transform(kw_only_default=True, field_specifiers=(param,))
def estimator(cls: _T) -> _T:
    """Class decorator: :func:`with_params`, and the parameters' docs in the docstring.

    The class docstring holds a summary and the estimator's own "Attributes"; the parameters
    (positional first, then the class's own, then those of its mixins) go in before them and
    the attributes every estimator has after them.
    """
    cls = with_params(cls)
    summary, _, attributes = inspect.cleandoc(cls.__doc__).partition("\nAttributes\n----------\n")
    params = "\n".join(_param_doc(f, cls._doc_words) for f in _doc_order(cls))
    cls.__doc__ = (
        f"{summary.rstrip()}\n\nParameters\n----------\n{params}\n\n"
        f"Attributes\n----------\n{attributes.rstrip()}\n{_SHARED_ATTRIBUTES}\n"
    )
    return cls


_SHARED_ATTRIBUTES = """\
config_ : aae.config.Config
    The configuration it was built and trained with.
history_ : list of dict
    Mean losses of every epoch.
n_features_in_ : int
    Number of features seen in ``fit``."""


def _doc_order(cls: type) -> list[dataclasses.Field]:
    declaring = [c for c in cls.__mro__ if "__dataclass_fields__" in vars(c)]  # cls first, its mixins after

    def depth(f: dataclasses.Field) -> int:  # the mixin that declares f: 0 for cls's own parameters
        return max(i for i, c in enumerate(declaring) if f.name in vars(c)["__dataclass_fields__"])

    return sorted(dataclasses.fields(cls), key=lambda f: (f.kw_only, depth(f)))


def _param_doc(f: dataclasses.Field, words: dict[str, str]) -> str:
    text = string.Template(f.metadata["doc"]).substitute(words)
    body = textwrap.fill(text, 96, initial_indent="    ", subsequent_indent="    ", break_on_hyphens=False)
    return f"{f.name} : {f.metadata['kind']}, default={_show(f.default)}\n{body}"


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float) and 0 < abs(value) < 0.01:
        return f"{value:.0e}".replace("e-0", "e-")  # 1e-3, not 0.001
    return repr(value)


def check_params(est: Any) -> None:
    """Every parameter of ``est`` through its check (``TypeError`` / ``ValueError`` naming it), in docs order."""
    for f in _doc_order(type(est)):
        if f.metadata["check"] is not None:
            f.metadata["check"](f.name, getattr(est, f.name))
