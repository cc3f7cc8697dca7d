"""Writing configs as TOML that ``aae train`` takes (the standard library reads TOML but does not write it)."""

import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aae.config import Config
from aae.errors import AAEError

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_key(k: str) -> str:
    return k if _BARE.match(k) else json.dumps(k)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # JSON's escapes are TOML's
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise AAEError(f"cannot write {v!r} ({type(v).__name__}) as TOML")


def to_toml(d: dict[str, Any], comment: Callable[[list[str], Any], str] | None = None) -> str:
    """Plain data (tables, lists, strings, numbers, booleans) as TOML text; ``comment(path, value)``
    (``path`` the keys down to a table heading or a value) gives the comment after that line."""
    lines: list[str] = []

    def note(path: list[str], value: Any = None) -> str:
        text = comment(path, value) if comment else ""
        return f"  # {text}" if text else ""

    def table(prefix: list[str], node: dict[str, Any]) -> None:
        scalars = {k: v for k, v in node.items() if not isinstance(v, dict) or not v}
        tables = {k: v for k, v in node.items() if isinstance(v, dict) and v}
        if prefix and (scalars or not tables):
            head = "[" + ".".join(_toml_key(p) for p in prefix) + "]"
            lines.append(("\n" if lines else "") + head + note(prefix))
        for k, v in scalars.items():
            lines.append(f"{_toml_key(k)} = {_toml_value(v)}" + note([*prefix, k], v))
        for k, v in tables.items():
            table([*prefix, k], v)

    table([], d)
    return "\n".join(lines) + "\n"


def write_config_toml(cfg: Config, path: str | Path, comment: str = "") -> None:
    """Write ``cfg`` as a TOML config file that ``aae train`` reads back to the same config."""
    text = to_toml(cfg.to_dict())
    if comment:
        text = "".join(f"# {line}\n" for line in comment.splitlines()) + text
    Path(path).write_text(text)
