"""Every config key with its meaning, type and default, for ``aae config``.

The meaning of a key is the comment its dataclass field carries in the source (on the field's
line, or the comment lines right above it), so the schema stays the one place that says what a
key does. :func:`annotated_toml` writes a resolved config as TOML that ``aae train`` reads back,
each key followed by its meaning and, where the value differs, the default.
"""

from __future__ import annotations

import dataclasses
import inspect
import io
import tokenize
import typing
from functools import cache
from typing import Any

from aae.config.schema import FAMILY_TABLES, Config, OptimConfig

#: keys whose meaning no dataclass field states: the free-form prior table and each phase's optimizer
OTHER_NOTES = {
    "prior": "the prior p(z): name (gaussian, mixture, swissroll, uniform, categorical, or module:function) "
    "and its parameters (docs: priors)",
}


@cache
def field_notes(cls: type) -> dict[str, str]:
    """``{field: meaning}`` of dataclass ``cls`` from its source comments (a field without one is left out)."""
    try:
        lines, start = inspect.getsourcelines(cls)
    except (OSError, TypeError):
        return {}
    comments: dict[int, str] = {}
    for tok in tokenize.generate_tokens(io.StringIO("".join(lines)).readline):
        if tok.type == tokenize.COMMENT:
            comments[tok.start[0]] = tok.string.lstrip("#").strip()
    notes = {}
    names = {f.name for f in dataclasses.fields(cls)}
    for i, line in enumerate(lines, start=1):
        name = line.strip().split(":", 1)[0]
        if name not in names or ":" not in line:
            continue
        text = [comments[i]] if i in comments and not line.lstrip().startswith("#") else []
        above, j = [], i - 1
        while j in comments and lines[j - 1].lstrip().startswith("#"):
            above.insert(0, comments[j])
            j -= 1
        joined = " ".join(above + text).replace("  ", " ")
        if joined and "fmt:" not in joined:
            notes[name] = joined
    return notes


def _table_classes() -> dict[str, type]:
    """Top-level config table name -> its dataclass (the shared tables and every family's)."""
    hints = typing.get_type_hints(Config)
    tables = {f.name: hints[f.name] for f in dataclasses.fields(Config) if dataclasses.is_dataclass(hints[f.name])}
    return {**tables, **FAMILY_TABLES}


def key_notes(cfg: Config) -> dict[str, str]:
    """``{dotted key: meaning (type)}`` for every leaf key of ``cfg`` (as ``--set`` names them)."""
    notes: dict[str, str] = {}
    hints = typing.get_type_hints(Config)
    top = field_notes(Config)
    for f in dataclasses.fields(Config):
        if f.name in ("families",):
            continue
        if not dataclasses.is_dataclass(hints[f.name]) and f.name not in ("prior", "optim"):
            notes[f.name] = _with_type(top.get(f.name, ""), hints[f.name])
    for table, cls in _table_classes().items():
        own, types_ = field_notes(cls), typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            notes[f"{table}.{f.name}"] = _with_type(own.get(f.name, ""), types_[f.name])
    optim, types_ = field_notes(OptimConfig), typing.get_type_hints(OptimConfig)
    for phase in cfg.optim:
        for f in dataclasses.fields(OptimConfig):
            notes[f"optim.{phase}.{f.name}"] = _with_type(optim.get(f.name, ""), types_[f.name])
    for k in cfg.prior:
        notes[f"prior.{k}"] = OTHER_NOTES["prior"] if k == "name" else "a parameter of the prior"
    return notes


def _with_type(note: str, tp: Any) -> str:
    name = getattr(tp, "__name__", None) or str(tp).replace("typing.", "")
    if typing.get_origin(tp) is list:
        name = f"list of {typing.get_args(tp)[0].__name__}"
    return f"{note} ({name})" if note else f"({name})"


def annotated_toml(cfg: Config) -> str:
    """``cfg`` as TOML (what ``aae train CONFIG.toml`` reads back), each key followed by a comment
    with its meaning, type and, where ``cfg`` changes it, the default."""
    from aae.sweep.toml import _toml_value, to_toml

    notes, defaults = key_notes(cfg), _flat(Config().to_dict())

    def comment(path: list[str], value: Any) -> str:
        key = ".".join(path)
        if value is None:  # a table's heading
            return OTHER_NOTES.get(key) or (f"the optimizer of the '{path[-1]}' phase" if path[0] == "optim" else "")
        changed = f"; default {_toml_value(defaults[key])}" if key in defaults and defaults[key] != value else ""
        return notes.get(key, "") + changed

    return to_toml(cfg.to_dict(), comment)


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict) and v:
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out
