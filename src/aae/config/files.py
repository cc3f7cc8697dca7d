"""Reading and writing configs: dicts, TOML/JSON files, ``--set`` overrides, and configs of earlier versions."""

from __future__ import annotations

import dataclasses
import difflib
import json
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

from aae.config.schema import FAMILY_TABLES, Config, OptimConfig, default_optimizers
from aae.errors import AAEError

# ---------------------------------------------------------------- reading and writing

#: flat keys of configs written before the per-family tables: old key -> (table, new key)
_MOVED = {
    "use_labels": ("aae", "use_labels"),
    "label_weight": ("aae", "label_weight"),
    "mmd_lambda": ("wae", "weight"),
    "mmd_kernel": ("wae", "kernel"),
    "mmd_scales": ("wae", "scales"),
    "mmd_closed_form": ("wae", "closed_form"),
    "kl_weight": ("vae", "kl_weight"),
}
_MOVED_NETWORK = {
    "heads": "heads",
    "head_scale": "head_scale",
    "head_margin": "head_margin",
    "head_weight": "head_weight",
}
_PHASES = ("recon", "disc", "gen", "classify")


def upgrade(d: dict[str, Any]) -> dict[str, Any]:
    """A config dict in today's layout from one an earlier version wrote (unchanged if current).

    Earlier versions chose the WAE, VAE and plain autoencoder with ``regularizer`` /
    ``regularize`` under model ``aae``, kept the optimizers as top-level ``recon``, ``disc``,
    ``gen``, ``classify`` tables and the family settings as flat keys.
    """
    d = json.loads(json.dumps(d))  # a deep copy of plain data
    regularize, regularizer = d.pop("regularize", True), d.pop("regularizer", "adversarial")
    if d.get("model", "aae") == "aae":
        if regularize is False:
            d["model"] = "autoencoder"
        elif regularizer in ("mmd", "kl"):
            d["model"] = {"mmd": "wae", "kl": "vae"}[regularizer]

    def move(value: Any, table: str, key: str) -> None:
        target = d.setdefault(table, {})
        if not isinstance(target, dict):
            raise AAEError(f"config key {table!r} must be a table/object, got {target!r}")
        target[key] = value

    for old, (table, new) in _MOVED.items():
        if old in d:
            move(d.pop(old), table, new)
    net = d.get("network")
    if isinstance(net, dict):
        for old, new in _MOVED_NETWORK.items():
            if old in net:
                move(net.pop(old), "dimred", new)
    for phase in _PHASES:
        if phase in d and isinstance(d[phase], dict):
            move(d.pop(phase), "optim", phase)
    if "optim" in d and isinstance(d["optim"], dict):
        d["optim"] = {**{k: dataclasses.asdict(v) for k, v in default_optimizers().items()}, **d["optim"]}
    return d


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check ``value`` against the annotation ``tp``; ints are accepted for floats."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise AAEError(f"config key {key!r} must be a table/object, got {value!r}")
        return from_dict(tp, value, key + ".")
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            try:
                return _coerce(value, arg, key)
            except AAEError:
                continue
        raise AAEError(f"config key {key!r}: {value!r} does not match {tp}")
    if tp is type(None):
        if value is None:
            return None
        raise AAEError(f"config key {key!r} must be null")
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise AAEError(f"config key {key!r} must be a list, got {value!r}")
        (arg,) = typing.get_args(tp)
        return [_coerce(v, arg, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise AAEError(f"config key {key!r} must be a table/object, got {value!r}")
        _, arg = typing.get_args(tp)
        if arg is not Any:
            return {str(k): _coerce(v, arg, f"{key}.{k}") for k, v in value.items()}
        try:
            json.dumps(value)
        except (TypeError, ValueError) as e:
            raise AAEError(f"config key {key!r} holds a value that is not plain data: {e}") from e
        return dict(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise AAEError(f"config key {key!r} must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise AAEError(f"config key {key!r} must be an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise AAEError(f"config key {key!r} must be a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise AAEError(f"config key {key!r} must be a string, got {value!r}")
        return value
    return value


def _refuse_unknown(d: dict[str, Any], names: set[str], prefix: str) -> None:
    unknown = sorted(set(d) - names)
    if unknown:
        raise AAEError(
            f"unknown config key(s) {[prefix + k for k in unknown]}; known: {sorted(prefix + n for n in names)}"
        )


def from_dict(cls: type, d: dict[str, Any], prefix: str = "") -> Any:
    """Build dataclass ``cls`` from a nested dict, refusing unknown keys and wrong types.

    A whole :class:`Config` is first brought to today's layout (:func:`upgrade`).
    """
    if cls is Config and not prefix:
        return _config_from_dict(upgrade(d))
    hints = typing.get_type_hints(cls)
    _refuse_unknown(d, {f.name for f in dataclasses.fields(cls)}, prefix)
    return cls(**{k: _coerce(v, hints[k], prefix + k) for k, v in d.items()})


def _config_from_dict(d: dict[str, Any]) -> Config:
    """A :class:`Config` from a dict in today's layout: its top-level tables named after a model
    family (``[wae]``, ...) are that family's registered table and go to ``Config.families``."""
    hints = typing.get_type_hints(Config)
    shared = {f.name for f in dataclasses.fields(Config)} - {"families"}
    _refuse_unknown(d, shared | set(FAMILY_TABLES), "")
    values = {k: _coerce(v, FAMILY_TABLES.get(k) or hints[k], k) for k, v in d.items()}
    families = {k: values.pop(k) for k in list(values) if k in FAMILY_TABLES}
    return Config(**values, families=families)


def parse_value(text: str) -> Any:
    """``--set`` values: JSON when it parses (numbers, true/false, lists), else a plain string."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return text


#: tables whose keys are free: the prior's parameters, and the optimizer of any phase
_OPEN_TABLES = ("prior", "optim")


def leaf_keys(d: dict[str, Any], prefix: str = "") -> list[str]:
    """Every dotted key of the nested dict ``d`` that holds a value (not a table)."""
    out = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        out += leaf_keys(v, key + ".") if isinstance(v, dict) and v and k != "prior" else [key]
    return out


def did_you_mean(key: str, known: list[str], n: int = 5) -> str:
    """`` (did you mean a, b?)``: the known keys whose last part is ``key``'s (or spelled close to
    it), then those spelled closest to the whole of ``key``; '' if there are none."""
    last = key.rsplit(".", 1)[-1]
    ends = {k.rsplit(".", 1)[-1] for k in known}
    near = set(difflib.get_close_matches(last, ends, n=n, cutoff=0.75))
    picks = [k for k in known if k.rsplit(".", 1)[-1] in near]
    picks += difflib.get_close_matches(key, known, n=n, cutoff=0.6)
    picks = list(dict.fromkeys(picks))[:n]
    return f" (did you mean {', '.join(picks)}?)" if picks else ""


def apply_overrides(cfg: Config, overrides: list[str]) -> Config:
    """Return a copy of ``cfg`` with ``key.sub=value`` overrides applied and type-checked; an
    unknown key is refused with the nearest known keys."""
    d = cfg.to_dict()
    known = leaf_keys(d)
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise AAEError(f"--set expects key=value, got {item!r}")
        parts = key.strip().split(".")
        node = d
        for i, p in enumerate(parts[:-1]):
            if not isinstance(node, dict) or p not in node:
                if i == 1 and parts[0] == "optim" and isinstance(node, dict):
                    node[p] = dataclasses.asdict(OptimConfig())  # a phase of a model's own
                else:
                    raise AAEError(
                        f"unknown config key {'.'.join(parts[: i + 1])!r} in --set {item!r}{did_you_mean(key, known)}"
                    )
            node = node[p]
        last = parts[-1]
        free = parts[0] in _OPEN_TABLES and len(parts) == 2
        if not isinstance(node, dict) or (last not in node and not free):
            raise AAEError(
                f"unknown config key {key!r} in --set {item!r}{did_you_mean(key.strip(), known)}; "
                "`aae config PRESET` lists every key with its meaning"
            )
        node[last] = parse_value(text)
    return from_dict(Config, d)


def load_config_file(path: str | Path) -> Config:
    """Read a config from a ``.toml`` or ``.json`` file (keys as in :class:`Config`)."""
    p = Path(path)
    if not p.is_file():
        raise AAEError(f"config file not found: {p}")
    try:
        if p.suffix == ".toml":
            d = tomllib.loads(p.read_text())
        elif p.suffix == ".json":
            d = json.loads(p.read_text())
        else:
            raise AAEError(f"config file {p} must end in .toml or .json")
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise AAEError(f"cannot parse config file {p}: {e}") from e
    if not isinstance(d, dict):
        raise AAEError(f"config file {p} must hold a table/object at the top level")
    return from_dict(Config, d)


def save_config(cfg: Config, path: str | Path) -> None:
    Path(path).write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")
