"""Files of a run: weights as safetensors + a JSON description, written atomically, never pickled.

``<name>.safetensors`` holds the tensors; ``<name>.json`` holds the config, metadata and the
sha256 of the tensor file, checked on load. Each file is written to a temporary file in
the same folder, fsynced and renamed, so a crash leaves the previous version intact.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from aae.errors import AAEError

FORMAT = "aae-checkpoint-1"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file + fsync + rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2) + "\n").encode())


def save_tensors(path_stem: Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Write ``<stem>.safetensors`` and ``<stem>.json`` (``meta`` plus format and sha256).

    The tensor file goes first, then the JSON that vouches for it, so a crash between the
    two leaves a mismatch that :func:`load_tensors` refuses rather than a silent mix.
    """
    stem = Path(path_stem)
    blob = st_save({k: v.detach().cpu().contiguous() for k, v in tensors.items()})
    atomic_write_bytes(stem.with_suffix(".safetensors"), blob)
    desc = {"format": FORMAT, "sha256": hashlib.sha256(blob).hexdigest(), **meta}
    atomic_write_json(stem.with_suffix(".json"), desc)


def load_tensors(path_stem: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read and verify a pair written by :func:`save_tensors`; refuses anything else with :class:`AAEError`."""
    stem = Path(path_stem)
    jpath, tpath = stem.with_suffix(".json"), stem.with_suffix(".safetensors")
    for p in (jpath, tpath):
        if not p.is_file():
            raise AAEError(f"missing checkpoint file {p}")
    try:
        desc = json.loads(jpath.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise AAEError(f"{jpath}: not valid JSON ({e})") from e
    if not isinstance(desc, dict) or desc.get("format") != FORMAT:
        raise AAEError(
            f"{jpath}: not an aae checkpoint description (format {desc.get('format')!r})"
            if isinstance(desc, dict)
            else f"{jpath}: not an aae checkpoint description"
        )
    blob = tpath.read_bytes()
    digest = hashlib.sha256(blob).hexdigest()
    if digest != desc.get("sha256"):
        raise AAEError(
            f"{tpath}: sha256 {digest} does not match {desc.get('sha256')} recorded in {jpath} "
            "(truncated, corrupt or from another run)"
        )
    try:
        tensors = st_load(blob)
    except (SafetensorError, ValueError, RuntimeError) as e:
        raise AAEError(f"{tpath}: not a valid safetensors file ({e})") from e
    return tensors, desc
