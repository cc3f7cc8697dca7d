"""Files of a run: weights as safetensors + a JSON description, written atomically, never pickled.

``<name>.safetensors`` holds the tensors; ``<name>.json`` holds the config, metadata and the
sha256 of the tensor file, checked on load. Each file is written to a temporary file in
the same folder, fsynced and renamed, so a crash leaves the previous version intact. The
files get the permissions the umask gives any new file (``0o666 & ~umask``, e.g. ``0o644``).
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


def _umask() -> int:
    """The process's umask: from /proc on Linux, else by setting it and setting it back."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file + fsync + rename.

    The file ends up with mode ``0o666 & ~umask``, as ``open(path, "w")`` would create it
    (``mkstemp`` makes its temporary file 0o600, private to the owner).

    On failure (disk full, permissions) the temporary file is removed, ``path`` keeps its
    previous content, and :class:`AAEError` names the file and the reason.
    """
    path = Path(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            os.fchmod(fd, 0o666 & ~_umask())
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as e:
        raise AAEError(f"cannot write {path}: {e.strerror or e}; its previous version is untouched") from e
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2) + "\n").encode())


def save_tensors(
    path_stem: Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any], tensor_file: str | None = None
) -> None:
    """Write the tensors to ``tensor_file`` (default ``<stem>.safetensors``), then ``<stem>.json``.

    The JSON records the tensor file's name and sha256. It is written last, so it only ever
    vouches for a complete tensor file; giving each version its own ``tensor_file`` (as the
    training checkpoints do) means a crash at any point leaves the previous pair loadable.
    """
    stem = Path(path_stem)
    name = tensor_file or stem.name + ".safetensors"
    blob = st_save({k: v.detach().cpu().contiguous() for k, v in tensors.items()})
    atomic_write_bytes(stem.parent / name, blob)
    desc = {"format": FORMAT, "tensors": name, "sha256": hashlib.sha256(blob).hexdigest(), **meta}
    atomic_write_json(stem.with_suffix(".json"), desc)


def load_tensors(path_stem: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read and verify a pair written by :func:`save_tensors`; refuses anything else with :class:`AAEError`."""
    stem = Path(path_stem)
    jpath = stem.with_suffix(".json")
    if not jpath.is_file():
        raise AAEError(f"missing checkpoint file {jpath}")
    try:
        desc = json.loads(jpath.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise AAEError(f"{jpath}: not valid JSON ({e})") from e
    if not isinstance(desc, dict) or desc.get("format") != FORMAT:
        raise AAEError(f"{jpath}: not an aae checkpoint description (no 'format': '{FORMAT}')")
    name = desc.get("tensors", stem.name + ".safetensors")
    if not isinstance(name, str) or Path(name).name != name or not name.endswith(".safetensors"):
        raise AAEError(f"{jpath}: bad tensor file name {name!r} (must be a .safetensors file in the same folder)")
    tpath = stem.parent / name
    if not tpath.is_file():
        raise AAEError(f"missing checkpoint file {tpath} (named in {jpath})")
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
