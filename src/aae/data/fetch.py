"""Getting upstream files: a verified local copy, downloaded from the mirrors when missing.

:func:`download` fetches one URL with resume (HTTP Range) and a lock against concurrent
downloads of the same file; :func:`find_file` looks for a file (see :mod:`aae.data.files`)
and downloads it into the cache when it is missing.
"""

from __future__ import annotations

import http.client
import os
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from tqdm import tqdm

from aae.data import catalog
from aae.data.files import cache_dir, candidate_paths, check_file, describe_dirs, folder_kept_on_success
from aae.errors import AAEError

try:
    import fcntl
except ImportError:  # not POSIX: concurrent downloads of one file are not serialised
    fcntl = None


def mirror_urls(dataset: str, filename: str, mirrors: dict[str, list[str]] | None = None) -> list[str]:
    """Download URLs in the order tried: ``$AAE_MIRROR/<dataset>/<filename>`` first, then the canonical ones."""
    mirrors = catalog.MIRRORS if mirrors is None else mirrors
    urls = [base + filename for base in mirrors.get(dataset, [])]
    if os.environ.get("AAE_MIRROR"):
        urls.insert(0, f"{os.environ['AAE_MIRROR'].rstrip('/')}/{dataset}/{filename}")
    return urls


@contextmanager
def _locked_append(part: Path) -> Iterator[BinaryIO]:
    """Open ``part`` for appending, holding an exclusive lock on it.

    Concurrent downloads of one file (every torchrun process loads the data) would interleave
    their bytes, so they queue on this lock. A waiter whose file was renamed or removed by the
    lock's previous holder opens the path afresh.
    """
    while True:
        f = open(part, "ab")
        if fcntl is None:
            break
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            if os.stat(part).st_ino == os.fstat(f.fileno()).st_ino:
                break
        except FileNotFoundError:
            pass
        f.close()
    try:
        yield f
    finally:
        f.close()


_CONTENT_RANGE = re.compile(r"bytes (\d+)-")


def _fetch(url: str, out: BinaryIO, offset: int, timeout: float, quiet: bool | None, name: str) -> None:
    """Append the bytes of ``url`` from ``offset`` on to ``out``; start over if the server ignores Range.

    ``offset`` and sizes are in bytes, ``timeout`` in seconds. ``quiet``: tqdm's ``disable``
    (None: show the progress bar on a terminal only).
    """
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        resp = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and offset:  # the partial file is not shorter than the server's: start over
            out.truncate(0)
            return _fetch(url, out, 0, timeout, quiet, name)
        raise
    with resp:
        m = _CONTENT_RANGE.match(resp.headers.get("Content-Range", "")) if resp.status == 206 else None
        start = int(m.group(1)) if m else 0
        if resp.status == 206 and start != offset:  # not the range asked for: ask for the whole file
            if not offset:
                raise AAEError(f"{url}: the server sent a part starting at byte {start} unasked")
            out.truncate(0)
            return _fetch(url, out, 0, timeout, quiet, name)
        if start == 0:  # the whole file (a 200 answer, Range ignored): drop what the partial file held
            out.truncate(0)
        length = resp.headers.get("Content-Length")
        length = int(length) if length and length.isdigit() else None
        got = 0
        total = None if length is None else start + length
        with tqdm(
            total=total, initial=start, unit="B", unit_scale=True, unit_divisor=1024, desc=name, disable=quiet
        ) as bar:
            while block := resp.read(1 << 20):
                out.write(block)
                got += len(block)
                bar.update(len(block))
        # http.client's read(n) ends quietly on a dropped connection: compare with the promise
        if length is not None and got < length:
            raise ConnectionError(f"the connection closed after {got:,} of {length:,} bytes")


def download(
    url: str,
    dest: Path,
    expected: str,
    size: int | None = None,
    timeout: float = 60.0,
    progress: bool | None = False,
) -> Path:
    """Fetch ``url`` to ``dest``; verify its size and digest (see :func:`~aae.data.files.check_file`)
    before naming it ``dest``.

    ``size`` in bytes, ``timeout`` in seconds per network operation. Bytes go to
    ``dest.part``, which an interrupted transfer leaves behind: the next call resumes it with
    an HTTP Range request (a server that ignores Range gets a clean restart; a resumed file
    that fails verification is fetched once more from the start). A file that fails
    verification is deleted, and so are the folders made for it if they are left empty.
    ``progress``: True shows a byte progress bar, None shows it on a terminal. Network
    failures raise :class:`AAEError`, keeping the partial file.
    """
    with folder_kept_on_success(dest.parent):
        return _download_into(url, dest, expected, size, timeout, progress)


def _download_into(
    url: str, dest: Path, expected: str, size: int | None, timeout: float, progress: bool | None
) -> Path:
    """:func:`download` once ``dest``'s folder exists."""
    part = dest.with_name(dest.name + ".part")
    with _locked_append(part) as out:
        if dest.is_file():  # a concurrent process finished it while this one waited for the lock
            part.unlink()
            check_file(dest, expected, size)
            return dest
        offset = os.fstat(out.fileno()).st_size
        if size is not None and offset > size:
            out.truncate(0)
            offset = 0
        quiet = None if progress is None else not progress
        for attempt in range(2):
            try:
                if size is None or offset < size:
                    _fetch(url, out, offset, timeout, quiet, dest.name)
                out.flush()
            except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
                out.flush()
                kept = os.fstat(out.fileno()).st_size
                if not kept:  # nothing to resume: leave no empty file behind
                    part.unlink()
                    raise AAEError(f"download of {url} failed ({type(e).__name__}: {e})") from e
                raise AAEError(
                    f"download of {url} failed ({type(e).__name__}: {e}); {kept:,} bytes kept in {part}, "
                    "the next attempt resumes from there"
                ) from e
            try:
                check_file(part, expected, size)
                break
            except AAEError as e:
                if attempt == 0 and offset > 0:  # the kept bytes may be what was wrong: once more, whole
                    out.truncate(0)
                    offset = 0
                    continue
                part.unlink()
                raise AAEError(f"download of {url}: {e}; not saved") from e
        os.replace(part, dest)
    return dest


def find_file(
    dataset: str,
    filename: str,
    data_dir: str | Path | None = None,
    download_missing: bool = True,
    mirrors: dict[str, list[str]] | None = None,
    checksums: dict[str, dict[str, str]] | None = None,
    sizes: dict[str, dict[str, int]] | None = None,
    download_dir: str | Path | None = None,
    progress: bool | None = None,
    search: list[Path] | None = None,
) -> Path:
    """Return a verified local copy of ``dataset/filename``, downloading it if needed.

    Looks for ``<dir>/<dataset>/<filename>`` and ``<dir>/<filename>`` in
    :func:`~aae.data.files.search_dirs` (or in the folders ``search``). A file found with the
    wrong size or checksum is an error (it is never silently replaced). Downloads go to
    ``<download_dir>/<dataset>/`` (default: the cache). ``checksums`` and ``sizes`` replace the
    upstream tables (tests); ``sizes`` defaults to none when ``checksums`` is given. A file
    neither found nor downloaded raises one line naming the folders and how to get it.
    """
    if sizes is None:
        sizes = catalog.SIZES if checksums is None else {}
    checksums = catalog.CHECKSUMS if checksums is None else checksums
    want = checksums.get(dataset, {}).get(filename)
    size = sizes.get(dataset, {}).get(filename)
    for p in candidate_paths(dataset, filename, data_dir, search):
        if p.is_file():
            try:
                check_file(p, want, size)
            except AAEError as e:
                raise AAEError(f"{e}; the file is corrupt or not the upstream file; delete it to re-download") from e
            return p
    missing = f"{dataset} file {filename} not found under {describe_dirs(data_dir, search)}"
    if not download_missing or want is None:
        raise AAEError(f"{missing}; {how_to_get(dataset, filename)}")
    dest = Path(download_dir or cache_dir()) / dataset / filename
    urls = mirror_urls(dataset, filename, mirrors)
    last = None
    for url in urls:
        try:
            return download(url, dest, want, size, progress=progress)
        except (urllib.error.URLError, OSError, AAEError) as e:
            last = e
    # one line: each mirror's full error would make a paragraph nobody reads
    mirrors_tried = f" from {len(urls)} mirrors" if len(urls) > 1 else ""
    failed = f"downloading it{mirrors_tried} failed ({_short_reason(last)})" if urls else "there is no mirror"
    resumes = "; the partial file resumes next time" if dest.with_name(dest.name + ".part").exists() else ""
    raise AAEError(f"{missing}, and {failed}{resumes}; {how_to_get(dataset, filename)}")


def how_to_get(dataset: str, filename: str) -> str:
    """The advice closing a missing-file message: the ``aae data download`` command, if any."""
    name = catalog.download_name(dataset, filename)
    if name is None:
        return "put it in one of those folders (--data-dir, $AAE_DATA or the cache)"
    return f"get it with `aae data download {name}` (or copy it into <folder>/{dataset}/)"


def _short_reason(e: BaseException | None) -> str:
    """What went wrong with a download, in a few words (the network error, not the URL or path)."""
    cause = e.__cause__ if isinstance(e, AAEError) and e.__cause__ is not None else e
    if isinstance(cause, urllib.error.HTTPError):
        return f"HTTP {cause.code} {cause.reason}"
    if isinstance(cause, urllib.error.URLError):
        return str(cause.reason)
    if isinstance(cause, AAEError):
        # download() chains check_file's complaint about the bytes it got; other AAEErrors are short already
        return "the downloaded file had the wrong size or checksum" if cause is not e else str(e)
    return f"{type(cause).__name__}: {cause}"
