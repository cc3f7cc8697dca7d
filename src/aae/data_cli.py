"""The ``aae data`` command: ``list``, ``download`` and ``verify`` the data sets.

:func:`add_parser` adds ``data`` to the ``aae`` command's subparsers and :func:`cmd_data` runs it;
the work is done by :mod:`aae.data`.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path

from aae.errors import AAEError


def add_parser(subparsers, add_data_dir: Callable[[argparse.ArgumentParser], None], epilog: str) -> None:
    """``aae data ACTION``; ``add_data_dir`` adds the ``--data-dir`` option to a parser."""
    p = subparsers.add_parser(
        "data",
        help="list, download or verify the data sets",
        epilog=epilog + " $AAE_MIRROR=URL is tried first for downloads, as URL/<data set>/<file>.",
        description="Which data sets are found where; fetch them (size and checksum verified); re-check them.",
    )
    data_sub = p.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    q = data_sub.add_parser(
        "list",
        help="where each known file is found, its size, whether the size is right, and each licence",
        description="Where each known data file is found, its size, whether the size is right, and each licence.",
    )
    add_data_dir(q)
    q = data_sub.add_parser(
        "download",
        help="download a data set and verify it",
        description="Download into <data-dir>/<data set>/ (default: the cache, ~/.cache/aae); an interrupted "
        "download resumes from its .part file.",
    )
    q.add_argument("name", choices=["mnist", "fashion-mnist", "svhn", "svhn-extra", "tfd"], help="the data set")
    add_data_dir(q)
    q = data_sub.add_parser(
        "verify",
        help="check every file found against its published size and checksum",
        description="Check every data file found against its published size and checksum.",
    )
    q.add_argument("name", nargs="*", help="data sets to verify (default: all); e.g. mnist svhn")
    add_data_dir(q)


def cmd_data(args) -> int:
    from aae import data

    if args.data_command == "download":
        return _data_download(args.name, args.data_dir)
    verify = args.data_command == "verify"
    where = [f"{args.data_dir} (--data-dir)"] if args.data_dir else []
    if os.environ.get("AAE_DATA"):
        where.append(f"{os.environ['AAE_DATA']} ($AAE_DATA)")
    where.append(f"{data.cache_dir()} (cache; downloads go here)")
    print("looked in, in order: " + ", ".join(where))
    reports = data.inspect_files(args.data_dir, verify, getattr(args, "name", None) or None)
    for r in reports:
        size = _human_bytes(r.path.stat().st_size) if r.path else "-"
        where = str(r.path) if r.path else _how_to_get(r.dataset, r.filename)
        print(f"{r.dataset:<14}{r.filename:<28}{size:>10}  {r.status:<32}{where}")
    if not verify:
        print("licences:")
        for name, terms in data.LICENCES.items():
            print(f"  {name:<14}{terms}")
    bad = [str(r.path) for r in reports if not r.ok]
    if bad:
        raise AAEError(f"{len(bad)} file(s) are not the upstream files: {', '.join(bad)}")
    return 0


def _data_download(name: str, data_dir: str | None) -> int:
    from aae import data

    if name == "tfd":
        raise AAEError(data.TFD_HOW_TO_GET)
    folder, files = data.DOWNLOADS[name]
    # with --data-dir the files go there, so only that folder counts as already having them
    search = [Path(data_dir)] if data_dir else None
    for filename in files:
        path = data.find_file(folder, filename, data_dir, download_dir=data_dir, search=search, progress=None)
        print(f"{folder}/{filename}: {path} (verified)")
    return 0


def _how_to_get(dataset: str, filename: str) -> str:
    from aae.data.catalog import download_name

    name = download_name(dataset, filename)
    return f"aae data download {name}" if name else f"on request only: put it in <data-dir>/{dataset}/"


def _human_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.2f} GiB"
