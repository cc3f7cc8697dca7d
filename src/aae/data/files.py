"""Local data files: where they are looked for, whether they are the upstream bytes, and
the folders a download makes.

Lookup order: ``--data-dir``, then ``$AAE_DATA``, then the per-user cache
(``$XDG_CACHE_HOME/aae`` or ``~/.cache/aae``); in each folder ``<dir>/<dataset>/<file>``
first, then ``<dir>/<file>``. Nothing here touches the network.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aae.errors import AAEError


def cache_dir() -> Path:
    """The per-user cache folder, ``$XDG_CACHE_HOME/aae`` or ``~/.cache/aae``, where downloads go."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "aae"


def search_places(data_dir: str | Path | None) -> list[tuple[Path, str]]:
    """``(folder, where it comes from)`` in lookup order: ``--data-dir``, ``$AAE_DATA``, ``cache``."""
    places = [(Path(data_dir), "--data-dir")] if data_dir else []
    if os.environ.get("AAE_DATA"):
        places.append((Path(os.environ["AAE_DATA"]), "$AAE_DATA"))
    places.append((cache_dir(), "cache"))
    return places


def search_dirs(data_dir: str | Path | None) -> list[Path]:
    """Where data files are looked for, in order: ``data_dir``, ``$AAE_DATA``, the cache."""
    return [folder for folder, _ in search_places(data_dir)]


def describe_dirs(data_dir: str | Path | None, search: list[Path] | None = None) -> str:
    """The folders looked in, for a message: ``/d (--data-dir), /home/u/.cache/aae (cache)``.

    With ``search`` (an explicit folder list) those folders, unlabelled.
    """
    if search is not None:
        return ", ".join(map(str, search)) or "no folders"
    return ", ".join(f"{folder} ({origin})" for folder, origin in search_places(data_dir))


def candidate_paths(
    dataset: str, filename: str, data_dir: str | Path | None = None, search: list[Path] | None = None
) -> list[Path]:
    """``<dir>/<dataset>/<filename>`` and ``<dir>/<filename>`` for each of :func:`search_dirs`
    (or of ``search``), in order."""
    dirs = search_dirs(data_dir) if search is None else search
    return [p for d in dirs for p in (d / dataset / filename, d / filename)]


def locate(dataset: str, filename: str, data_dir: str | Path | None = None) -> Path | None:
    """The first existing candidate path of ``dataset/filename``, unverified; None if there is none."""
    return next((p for p in candidate_paths(dataset, filename, data_dir) if p.is_file()), None)


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes, read in 1 MiB blocks (the SVHN extra file is 1.3 GB)."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    return file_digest(path, "sha256")


def check_file(path: Path, expected: str | None, size: int | None = None) -> None:
    """Raise :class:`AAEError` unless ``path`` has ``size`` bytes and the ``expected`` digest.

    ``expected`` is a sha256 hex digest, ``md5:<hex>``, or None (nothing published to check).
    The size is compared first, so a truncated file is reported without reading it.
    """
    if size is not None:
        got_size = path.stat().st_size
        if got_size != size:
            raise AAEError(f"{path}: {got_size:,} bytes, expected {size:,} (truncated or not the upstream file)")
    if expected is not None:
        algorithm, sep, want = expected.partition(":")
        if not sep:
            algorithm, want = "sha256", expected
        got = file_digest(path, algorithm)
        if got != want:
            raise AAEError(f"{path}: checksum mismatch ({algorithm} {got}, expected {want})")


@contextmanager
def folder_kept_on_success(folder: Path) -> Iterator[Path]:
    """Create ``folder`` and its missing parents; if the block raises, remove those just made
    that are still empty.

    A failed download must not leave an empty ``~/.cache/aae/<dataset>/`` behind: it would
    look like data had been put there. A folder that is not empty (a kept ``.part`` file, a
    concurrent download's files) stays.
    """
    made = []
    p = folder
    while not p.exists() and p != p.parent:
        made.append(p)  # deepest first, the order to remove them in
        p = p.parent
    folder.mkdir(parents=True, exist_ok=True)
    try:
        yield folder
    except BaseException:
        for d in made:
            try:
                d.rmdir()
            except OSError:  # not empty: neither are its parents
                break
        raise
