"""Data sets as in-memory tensors: MNIST / Fashion-MNIST IDX files, SVHN and TFD ``.mat`` files,
and users' .npy/.npz arrays.

Images come back flattened, ``x`` uint8 of shape ``(n, c*h*w)`` (channel-major for colour
images) and ``y`` int64 of shape ``(n,)``. :func:`load_splits` turns them into train /
validation / test splits: float32 in [0, 1] for MNIST-sized data, uint8 for the large image
sets (SVHN with its extra set is 1.9 GB as uint8, 7.5 GB as float32), which the trainer
converts per mini-batch with :func:`as_float`. Files are looked up in ``--data-dir``, then
``$AAE_DATA``, then the per-user cache (``$XDG_CACHE_HOME/aae`` or ``~/.cache/aae``), and
downloaded there, size- and checksum-verified, when missing (TFD excepted: it is
distributed on request only).
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import math
import os
import re
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch
from tqdm import tqdm

from aae.errors import AAEError

try:
    import fcntl
except ImportError:  # not POSIX: concurrent downloads of one file are not serialised
    fcntl = None

SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
IDX_DATASETS = ("mnist", "fashion-mnist")

#: SVHN cropped digits (Netzer et al. 2011), MATLAB v5 files in ``<dir>/svhn/``
SVHN_FILES = {"train": "train_32x32.mat", "test": "test_32x32.mat", "extra": "extra_32x32.mat"}
#: the Toronto Face Database, 48x48 (Susskind et al. 2010), distributed on request only
TFD_FILE = "TFD_48x48.mat"
TFD_FIELDS = ("images", "folds", "labs_ex", "labs_id")

#: expected digests of the upstream files: a bare hex string is sha256, ``md5:<hex>`` is md5
#: (SVHN's published checksums are md5). MNIST values as in shared/data/README.md.
CHECKSUMS: dict[str, dict[str, str]] = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
    "svhn": {
        "train_32x32.mat": "md5:e26dedcc434d2e4c54c9b2d4a06d8373",
        "test_32x32.mat": "md5:eb5a983be6a315427106f1b164d9cef3",
        "extra_32x32.mat": "md5:a93ce644f1a588dc4d68dda5feec44a7",
    },
}

#: upstream sizes in bytes: a truncated file is named as such without hashing it, and an
#: interrupted download resumes only from a partial file shorter than this
SIZES: dict[str, dict[str, int]] = {
    "mnist": {
        "train-images-idx3-ubyte.gz": 9912422,
        "train-labels-idx1-ubyte.gz": 28881,
        "t10k-images-idx3-ubyte.gz": 1648877,
        "t10k-labels-idx1-ubyte.gz": 4542,
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": 26421880,
        "train-labels-idx1-ubyte.gz": 29515,
        "t10k-images-idx3-ubyte.gz": 4422102,
        "t10k-labels-idx1-ubyte.gz": 5148,
    },
    "svhn": {"train_32x32.mat": 182040794, "test_32x32.mat": 64275384, "extra_32x32.mat": 1329278602},
}

MIRRORS: dict[str, list[str]] = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ],
    "fashion-mnist": [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ],
    "svhn": ["http://ufldl.stanford.edu/housenumbers/"],
}

#: ``aae data download NAME``: the folder (data set) and files each name fetches
DOWNLOADS: dict[str, tuple[str, tuple[str, ...]]] = {
    "mnist": ("mnist", (*SPLIT_FILES["train"], *SPLIT_FILES["test"])),
    "fashion-mnist": ("fashion-mnist", (*SPLIT_FILES["train"], *SPLIT_FILES["test"])),
    "svhn": ("svhn", (SVHN_FILES["train"], SVHN_FILES["test"])),
    "svhn-extra": ("svhn", (SVHN_FILES["extra"],)),
}

#: every file ``aae data list`` / ``verify`` reports, by folder
KNOWN_FILES: dict[str, tuple[str, ...]] = {
    "mnist": DOWNLOADS["mnist"][1],
    "fashion-mnist": DOWNLOADS["fashion-mnist"][1],
    "svhn": tuple(SVHN_FILES.values()),
    "tfd": (TFD_FILE,),
}

#: the terms each data set is distributed under (``aae data list`` prints them); check the source before use
LICENCES: dict[str, str] = {
    "mnist": "no licence stated on the authors' page (LeCun, Cortes and Burges); often listed as CC BY-SA 3.0",
    "fashion-mnist": "MIT licence (Zalando Research, github.com/zalandoresearch/fashion-mnist)",
    "svhn": "non-commercial use only, citing Netzer et al. 2011 (ufldl.stanford.edu/housenumbers)",
    "tfd": "research use under the University of Toronto's licence agreement, on request only (Susskind et al. 2010)",
}

TFD_HOW_TO_GET = (
    "the Toronto Face Database is distributed on request only (Susskind, Anderson and Hinton 2010, "
    "University of Toronto), so it cannot be downloaded; put TFD_48x48.mat in <data-dir>/tfd/ "
    "(or $AAE_DATA/tfd/, ~/.cache/aae/tfd/)"
)


@dataclass
class Splits:
    """Train / validation / test data: ``x_*`` ``(n, d)``, labels int64 ``(n,)`` (-1: unknown).

    ``x_*`` are float32 (in [0, 1] for images) or, for large image sets, uint8 pixels 0..255:
    pass a slice through :func:`as_float` before giving it to a model.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    image_shape: tuple[int, ...] | None  # (h, w) grey or (c, h, w) colour; None for tabular data
    n_classes: int

    @property
    def data_dim(self) -> int:
        return self.x_train.shape[1]


def as_float(x: torch.Tensor) -> torch.Tensor:
    """Model input from stored data: uint8 pixels become float32 in [0, 1]; float data pass through."""
    return x.float() / 255.0 if x.dtype == torch.uint8 else x


# ---------------------------------------------------------------- IDX files


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_file(path: Path) -> str:
    return file_digest(path, "sha256")


def parse_idx(raw: bytes, source: str = "<bytes>") -> np.ndarray:
    """Decode an (uncompressed) IDX file of unsigned bytes: magic ``0x0000 08 ndim``, sizes, data."""
    if len(raw) < 4:
        raise AAEError(f"{source}: not an IDX file (only {len(raw)} bytes)")
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise AAEError(f"{source}: not an unsigned-byte IDX file (magic bytes {raw[:4].hex()})")
    ndim = raw[3]
    if not 1 <= ndim <= 4:
        raise AAEError(f"{source}: IDX header claims {ndim} dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise AAEError(f"{source}: truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = math.prod(shape)
    if len(raw) - header != expected:
        raise AAEError(
            f"{source}: IDX header says shape {shape} ({expected} bytes) but the file holds "
            f"{len(raw) - header} bytes of data (truncated or corrupt)"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def read_idx_gz(path: Path) -> np.ndarray:
    """Read a gzip-compressed IDX file; corrupt or truncated files raise :class:`AAEError`."""
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise AAEError(f"{path}: cannot decompress ({e}); the file is corrupt or not gzip") from e
    return parse_idx(raw, str(path))


# ---------------------------------------------------------------- verifying


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


# ---------------------------------------------------------------- locating and downloading


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "aae"


def search_dirs(data_dir: str | Path | None) -> list[Path]:
    """Where data files are looked for, in order: ``data_dir``, ``$AAE_DATA``, the cache."""
    dirs = [Path(data_dir)] if data_dir else []
    if os.environ.get("AAE_DATA"):
        dirs.append(Path(os.environ["AAE_DATA"]))
    dirs.append(cache_dir())
    return dirs


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


def mirror_urls(dataset: str, filename: str, mirrors: dict[str, list[str]] | None = None) -> list[str]:
    """Download URLs in the order tried: ``$AAE_MIRROR/<dataset>/<filename>`` first, then the canonical ones."""
    mirrors = MIRRORS if mirrors is None else mirrors
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

    ``quiet``: tqdm's ``disable`` (None: show the progress bar on a terminal only).
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
    """Fetch ``url`` to ``dest``; verify its size and digest (see :func:`check_file`) before naming it ``dest``.

    Bytes go to ``dest.part``, which an interrupted transfer leaves behind: the next call
    resumes it with an HTTP Range request (a server that ignores Range gets a clean restart;
    a resumed file that fails verification is fetched once more from the start). A file that
    fails verification is deleted. ``progress``: True shows a byte progress bar, None shows
    it on a terminal. Network failures raise :class:`AAEError`, keeping the partial file.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
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

    Looks for ``<dir>/<dataset>/<filename>`` and ``<dir>/<filename>`` in :func:`search_dirs`
    (or in the folders ``search``). A file found with the wrong size or checksum is an error
    (it is never silently replaced). Downloads go to ``<download_dir>/<dataset>/`` (default:
    the cache). ``checksums`` and ``sizes`` replace the upstream tables (tests); ``sizes``
    defaults to none when ``checksums`` is given.
    """
    if sizes is None:
        sizes = SIZES if checksums is None else {}
    checksums = CHECKSUMS if checksums is None else checksums
    want = checksums.get(dataset, {}).get(filename)
    size = sizes.get(dataset, {}).get(filename)
    tried = candidate_paths(dataset, filename, data_dir, search)
    for p in tried:
        if p.is_file():
            try:
                check_file(p, want, size)
            except AAEError as e:
                raise AAEError(f"{e}; the file is corrupt or not the upstream file; delete it to re-download") from e
            return p
    if not download_missing or want is None:
        raise AAEError(f"{dataset} file {filename} not found; looked in: {', '.join(map(str, tried))}")
    dest = Path(download_dir or cache_dir()) / dataset / filename
    errors = []
    for url in mirror_urls(dataset, filename, mirrors):
        try:
            return download(url, dest, want, size, progress=progress)
        except (urllib.error.URLError, OSError, AAEError) as e:
            errors.append(f"{url}: {e}")
    raise AAEError(
        f"{dataset} file {filename} not found (looked in: {', '.join(map(str, tried))}) and could not be "
        f"downloaded: {'; '.join(errors) or 'no mirrors'}. Pass --data-dir or set AAE_DATA."
    )


def load_idx_dataset(
    dataset: str, split: str, data_dir: str | Path | None = None, **find_kwargs
) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST-layout data set ``split`` (train|test): ``x`` uint8 ``(n, 784)``, ``y`` int64 ``(n,)``."""
    if dataset not in CHECKSUMS:
        raise AAEError(f"unknown data set {dataset!r}; choose one of {sorted(CHECKSUMS)} or a .npy/.npz path")
    img_name, lab_name = SPLIT_FILES[split]
    img_path = find_file(dataset, img_name, data_dir, **find_kwargs)
    lab_path = find_file(dataset, lab_name, data_dir, **find_kwargs)
    images, labels = read_idx_gz(img_path), read_idx_gz(lab_path)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise AAEError(f"{img_path} / {lab_path}: shapes {images.shape} and {labels.shape} do not match")
    x = torch.from_numpy(images.reshape(len(images), -1).copy())
    return x, torch.from_numpy(labels.astype(np.int64))


@dataclass
class FileReport:
    """What ``aae data list`` / ``verify`` says about one known file."""

    dataset: str
    filename: str
    path: Path | None  # where it was found first; None: missing
    status: str  # e.g. "missing", "size ok", "verified (md5)", "checksum mismatch"
    ok: bool  # False: found but wrong (a missing file is not a failure)


def inspect_files(
    data_dir: str | Path | None = None, verify: bool = False, datasets: list[str] | None = None
) -> list[FileReport]:
    """Report every file of :data:`KNOWN_FILES` (or of ``datasets``): found where, and whether it
    is the upstream file.

    Without ``verify`` only sizes are compared (fast); with it, digests too (reads every
    file). TFD has no published checksum: ``verify`` checks that its fields are there.
    """
    unknown = sorted(set(datasets or []) - set(KNOWN_FILES))
    if unknown:
        raise AAEError(f"unknown data set(s) {unknown}; known: {', '.join(KNOWN_FILES)}")
    reports = []
    for dataset, files in KNOWN_FILES.items():
        if datasets and dataset not in datasets:
            continue
        for filename in files:
            path = locate(dataset, filename, data_dir)
            if path is None:
                reports.append(FileReport(dataset, filename, None, "missing", True))
                continue
            status, ok = _inspect(path, dataset, filename, verify)
            reports.append(FileReport(dataset, filename, path, status, ok))
    return reports


def _inspect(path: Path, dataset: str, filename: str, verify: bool) -> tuple[str, bool]:
    size = SIZES.get(dataset, {}).get(filename)
    expected = CHECKSUMS.get(dataset, {}).get(filename)
    got_size = path.stat().st_size
    if size is not None and got_size != size:
        return f"wrong size ({got_size:,} bytes, expected {size:,})", False
    if expected is None:  # TFD
        return _verify_tfd(path) if verify else ("found (no published checksum)", True)
    if not verify:
        return "size ok", True
    try:
        check_file(path, expected)
    except AAEError:
        return "checksum mismatch", False
    return f"verified ({expected.split(':')[0] if ':' in expected else 'sha256'})", True


def _verify_tfd(path: Path) -> tuple[str, bool]:
    """Check the fields' presence and shapes from the .mat header, without reading the images."""
    import scipy.io

    try:
        shapes = {name: shape for name, shape, _ in scipy.io.whosmat(path)}
    except Exception as e:
        return f"not a readable .mat file ({type(e).__name__})", False
    missing = [f for f in TFD_FIELDS if f not in shapes]
    if missing:
        return f"field(s) {missing} missing", False
    return f"fields ok ({shapes['images'][0]:,} images; no published checksum)", True


# ---------------------------------------------------------------- MATLAB files: SVHN, TFD


def read_mat(path: Path, fields: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The named variables of a MATLAB v4-v7.2 ``.mat`` file; unreadable files and missing fields raise."""
    import scipy.io  # only the .mat data sets need it; it adds ~0.3 s to the CLI's start

    try:
        d = scipy.io.loadmat(path)
    except NotImplementedError as e:  # scipy's answer to v7.3 (HDF5) files
        raise AAEError(f"{path}: a MATLAB v7.3 (HDF5) file, which is not supported; re-save it with -v7 ({e})") from e
    except Exception as e:  # scipy raises many kinds on garbage and truncation (ValueError, TypeError, ...)
        raise AAEError(f"{path}: not a readable MATLAB .mat file ({type(e).__name__}: {e})") from e
    missing = [f for f in fields if f not in d]
    if missing:
        found = sorted(k for k in d if not k.startswith("__"))
        raise AAEError(f"{path}: field(s) {missing} missing (found {found}); not the expected file")
    return {f: d[f] for f in fields}


def _integer_labels(y: np.ndarray, path: Path, field: str, n: int) -> np.ndarray:
    """``y`` as int64 ``(n,)``; non-integral values or a count other than ``n`` raise."""
    y = np.asarray(y).reshape(-1)
    if y.dtype.kind not in "iuf" or len(y) != n:
        raise AAEError(f"{path}: {field} has {len(y)} values of dtype {y.dtype}; expected {n} integers")
    if y.dtype.kind == "f" and not np.array_equal(y, np.round(y)):
        raise AAEError(f"{path}: {field} holds non-integer values")
    return y.astype(np.int64)


def read_svhn_mat(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """An SVHN cropped-digit file: ``X`` uint8 32x32x3xN, ``y`` Nx1 with 1..10 (10 is the digit 0).

    Returns ``x`` uint8 ``(N, 3072)``, each row an image in channel, row, column order (so
    ``x.reshape(N, 3, 32, 32)`` is the usual NCHW layout), and ``y`` int64 ``(N,)`` in 0..9.
    """
    d = read_mat(path, ("X", "y"))
    images = d["X"]
    if images.ndim != 4 or images.shape[:3] != (32, 32, 3) or images.dtype != np.uint8:
        raise AAEError(f"{path}: X has shape {images.shape} and dtype {images.dtype}; expected uint8 32 x 32 x 3 x N")
    n = images.shape[3]
    y = _integer_labels(d["y"], path, "y", n)
    bad = (y < 1) | (y > 10)
    if bad.any():
        raise AAEError(f"{path}: label {y[bad][0]} at index {int(np.argmax(bad))} is outside 1..10")
    # (row, column, channel, image) -> (image, channel, row, column), one contiguous copy
    x = np.ascontiguousarray(images.transpose(3, 2, 0, 1)).reshape(n, -1)
    return x, y % 10


def load_svhn(split: str, data_dir: str | Path | None = None, **find_kwargs) -> tuple[torch.Tensor, torch.Tensor]:
    """``x`` uint8 ``(n, 3072)`` and ``y`` int64 ``(n,)`` of SVHN's ``train``, ``test`` or ``extra`` file."""
    path = find_file("svhn", SVHN_FILES[split], data_dir, **find_kwargs)
    x, y = read_svhn_mat(path)
    return torch.from_numpy(x), torch.from_numpy(y)


@dataclass
class TFD:
    """The Toronto Face Database file: ``images`` uint8 ``(n, h*w)``, ``folds`` ``(n, 5)``,
    ``expression`` int64 ``(n,)`` in 0..6 (-1: unlabeled), ``identity`` int64 ``(n,)``."""

    images: np.ndarray
    folds: np.ndarray
    expression: np.ndarray
    identity: np.ndarray
    image_shape: tuple[int, int]

    #: the value of ``folds[:, k]`` for each part of fold ``k``
    PARTS = {"unlabeled": 0, "train": 1, "valid": 2, "test": 3}

    def part(self, fold: int, name: str) -> np.ndarray:
        """Indices of ``name`` (unlabeled, train, valid, test) in ``fold`` (0-4)."""
        if not 0 <= fold < self.folds.shape[1]:
            raise AAEError(f"TFD fold must be in 0..{self.folds.shape[1] - 1}, got {fold}")
        return np.flatnonzero(self.folds[:, fold] == self.PARTS[name])


def read_tfd_mat(path: Path) -> TFD:
    """Read ``TFD_48x48.mat``: ``images`` N x 48 x 48 uint8, ``folds`` N x 5 (0 unlabeled, 1 train,
    2 valid, 3 test), ``labs_ex`` (expression 1..7; other values: unlabeled), ``labs_id`` (identity).
    """
    d = read_mat(path, TFD_FIELDS)
    images, folds = d["images"], np.asarray(d["folds"])
    if images.ndim != 3 or images.dtype != np.uint8 or len(images) == 0:
        raise AAEError(f"{path}: images has shape {images.shape} and dtype {images.dtype}; expected uint8 N x 48 x 48")
    n = len(images)
    if folds.shape != (n, 5) or folds.dtype.kind not in "iuf" or not np.isin(folds, [0, 1, 2, 3]).all():
        raise AAEError(f"{path}: folds has shape {folds.shape}; expected {n} x 5 with values 0 (unlabeled) to 3 (test)")
    expression = _integer_labels(d["labs_ex"], path, "labs_ex", n)
    expression = np.where((expression >= 1) & (expression <= 7), expression - 1, -1)
    identity = _integer_labels(d["labs_id"], path, "labs_id", n)
    x = np.ascontiguousarray(images).reshape(n, -1)
    return TFD(x, folds.astype(np.int64), expression, identity, (images.shape[1], images.shape[2]))


def load_tfd(data_dir: str | Path | None = None) -> TFD:
    """Find and read ``tfd/TFD_48x48.mat`` (no checksum is published; it is never downloaded)."""
    path = locate("tfd", TFD_FILE, data_dir)
    if path is None:
        tried = ", ".join(map(str, candidate_paths("tfd", TFD_FILE, data_dir)))
        raise AAEError(f"{TFD_FILE} not found (looked in: {tried}); {TFD_HOW_TO_GET}")
    return read_tfd_mat(path)


@dataclass
class Standardizer:
    """Per-dimension standardization, the paper's TFD preprocessing: ``(x - mean) / std``.

    ``mean`` and ``std`` are ``(d,)`` in the units of :func:`as_float` ([0, 1] for images);
    :meth:`inverse` maps model outputs (e.g. decoded samples) back to [0, 1] for display.
    """

    mean: torch.Tensor
    std: torch.Tensor

    @classmethod
    def fit(cls, x: torch.Tensor, min_std: float = 1e-3, chunk: int = 10000) -> Standardizer:
        """Mean and std of ``x`` ``(n, d)`` per column, summed in float64 chunks (uint8 stays uint8).

        ``min_std`` keeps (nearly) constant pixels from dividing by zero.
        """
        s = torch.zeros(x.shape[1], dtype=torch.float64)
        s2 = torch.zeros_like(s)
        for i in range(0, len(x), chunk):
            b = as_float(x[i : i + chunk]).double()
            s += b.sum(0)
            s2 += (b * b).sum(0)
        mean = s / len(x)
        std = (s2 / len(x) - mean * mean).clamp_min(0).sqrt().clamp_min(min_std)
        return cls(mean.float(), std.float())

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return (as_float(x) - self.mean.to(x.device)) / self.std.to(x.device)

    def inverse(self, x: torch.Tensor) -> torch.Tensor:
        """Standardized values back to data units, clipped to [0, 1]."""
        return (x * self.std.to(x.device) + self.mean.to(x.device)).clamp(0, 1)


# ---------------------------------------------------------------- users' arrays


def load_array_file(path: str | Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Read ``x`` (and ``y`` if present) from ``.npy`` or ``.npz`` (keys ``x``/``y`` or the first array).

    Never unpickles. Returns ``x`` as float32 ``(n, d)`` in [0, 1] (uint8 is divided by 255;
    images ``(n, h, w)`` are flattened) and ``y`` int64 ``(n,)`` or None.
    """
    p = Path(path)
    if not p.is_file():
        raise AAEError(f"data file not found: {p}")
    try:
        loaded = np.load(p, allow_pickle=False)
    except ValueError as e:
        raise AAEError(f"{p}: cannot read without unpickling or not a valid .npy/.npz: {e}") from e
    except Exception as e:  # numpy raises many kinds on garbage (OSError, EOFError, BadZipFile, ...)
        raise AAEError(f"{p}: not a valid .npy/.npz file: {type(e).__name__}: {e}") from e
    y = None
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            try:
                keys = list(loaded.keys())
                if not keys:
                    raise AAEError(f"{p}: the .npz archive holds no arrays")
                x = loaded["x"] if "x" in keys else loaded[keys[0]]
                if "y" in keys:
                    y = loaded["y"]
            except AAEError:
                raise
            except ValueError as e:
                raise AAEError(f"{p}: cannot read without unpickling or corrupt .npz archive: {e}") from e
            except Exception as e:
                raise AAEError(f"{p}: corrupt .npz archive: {type(e).__name__}: {e}") from e
    else:
        x = loaded
    return validate_array(x, y, str(p))


def validate_array(x: np.ndarray, y: np.ndarray | None, source: str = "array") -> tuple[np.ndarray, np.ndarray | None]:
    """Check and convert user data; see :func:`load_array_file` for the contract."""
    x = np.asarray(x)
    if x.dtype.kind not in "uifb":
        raise AAEError(f"{source}: x has dtype {x.dtype}; expected numbers")
    if x.ndim < 2 or x.size == 0:
        raise AAEError(f"{source}: x must have shape (n, d) or (n, h, w) with n, d > 0, got {x.shape}")
    x = x.reshape(len(x), -1)
    if x.dtype == np.uint8:
        x = x.astype(np.float32) / 255.0
    else:
        x = x.astype(np.float32)
        if not np.isfinite(x).all():
            bad = np.argwhere(~np.isfinite(x))[0]
            raise AAEError(f"{source}: x has NaN or Inf values (first at row {bad[0]}, column {bad[1]})")
    if y is not None:
        y = np.asarray(y).reshape(-1)
        if y.dtype.kind not in "iu":
            raise AAEError(f"{source}: labels y must be integers, got dtype {y.dtype}")
        if len(y) != len(x):
            raise AAEError(f"{source}: x has {len(x)} rows but y has {len(y)} labels")
        if len(y) and y.min() < -1:
            raise AAEError(f"{source}: labels must be >= 0, or -1 for an unlabeled example; got {y.min()}")
        y = y.astype(np.int64)
    return x, y


# ---------------------------------------------------------------- splits


def balanced_label_mask(y: torch.Tensor, n_labeled: int, n_classes: int, seed: int) -> torch.Tensor:
    """Boolean mask keeping ``n_labeled`` labels, the same number per class, chosen by ``seed``."""
    if n_labeled % n_classes:
        raise AAEError(f"n_labeled={n_labeled} must be a multiple of the {n_classes} classes (class-balanced)")
    per = n_labeled // n_classes
    if n_labeled > int((y >= 0).sum()):
        raise AAEError(f"n_labeled={n_labeled} labels asked for, but the training split has only {int((y >= 0).sum())}")
    g = torch.Generator().manual_seed(seed)
    keep = torch.zeros(len(y), dtype=torch.bool)
    for c in range(n_classes):
        idx = (y == c).nonzero().squeeze(1)
        if len(idx) < per:
            raise AAEError(f"class {c} has only {len(idx)} examples, fewer than the {per} labels asked for")
        keep[idx[torch.randperm(len(idx), generator=g)[:per]]] = True
    return keep


DATASETS = ("mnist", "fashion-mnist", "svhn", "svhn+extra", "tfd")


def load_splits(
    dataset: str,
    data_dir: str | Path | None = None,
    validation: int = 10000,
    n_labeled: int = -1,
    seed: int = 0,
    fold: int = 0,
    **find_kwargs,
) -> Splits:
    """Train / validation / test splits of ``dataset`` (see :data:`DATASETS`, or a .npy/.npz path).

    - ``mnist``, ``fashion-mnist``: float32 in [0, 1]; the last ``validation`` of the 60,000
      training images are held out (the paper's 50K/10K MNIST protocol); test: 10,000.
    - ``svhn``: uint8 ``(n, 3*32*32)``; the last ``validation`` of the 73,257 training images
      are held out; test: the 26,032 test images. ``svhn+extra``: the same, with the 531,131
      extra images appended to the training split (the usual protocol for semi-supervised
      SVHN, 604,388 - ``validation`` images; the validation images come from the train file,
      which is harder than extra and closer to test). Needs about 4 GB of memory to load.
    - ``tfd``: uint8 ``(n, 48*48)``; fold ``fold`` (0-4) of the file decides: train = its
      unlabeled and train parts, validation = its valid part, test = its test part
      (``validation`` is not used). Labels are the 7 expressions, -1 for unlabeled faces.
    - ``.npy``/``.npz``: float32, split 80/10/10 in file order.

    With ``n_labeled >= 0``, only that many training labels are kept (class-balanced, chosen
    by ``seed``); the others become -1.
    """
    extra = None
    if dataset.endswith((".npy", ".npz")):
        x_np, y_np = load_array_file(dataset)
        n = len(x_np)
        n_test = n // 10
        validation = min(validation, n // 10)
        x = torch.from_numpy(x_np)
        y = torch.from_numpy(y_np) if y_np is not None else torch.full((n,), -1, dtype=torch.long)
        x_tr, y_tr = x[: n - n_test], y[: n - n_test]
        x_te, y_te = x[n - n_test :], y[n - n_test :]
        image_shape = None
        side = int(round(x.shape[1] ** 0.5))
        if side * side == x.shape[1]:
            image_shape = (side, side)
    elif dataset in IDX_DATASETS:
        xu, y_tr = load_idx_dataset(dataset, "train", data_dir, **find_kwargs)
        xt, y_te = load_idx_dataset(dataset, "test", data_dir, **find_kwargs)
        x_tr, x_te = xu.float() / 255.0, xt.float() / 255.0
        image_shape = (28, 28)
    elif dataset in ("svhn", "svhn+extra"):
        x_tr, y_tr = load_svhn("train", data_dir, **find_kwargs)
        x_te, y_te = load_svhn("test", data_dir, **find_kwargs)
        if dataset == "svhn+extra":
            extra = load_svhn("extra", data_dir, **find_kwargs)
        image_shape = (3, 32, 32)
    elif dataset == "tfd":
        return _tfd_splits(load_tfd(data_dir), fold, n_labeled, seed)
    else:
        raise AAEError(f"unknown data set {dataset!r}; choose one of {list(DATASETS)} or a .npy/.npz file")
    if not 0 <= validation < len(x_tr):
        raise AAEError(f"validation={validation} must be in [0, {len(x_tr)})")
    n_fit = len(x_tr) - validation
    x_train, y_train = x_tr[:n_fit], y_tr[:n_fit].clone()
    x_val, y_val = x_tr[n_fit:], y_tr[n_fit:]
    if extra is not None:
        x_train, y_train = torch.cat([x_train, extra[0]]), torch.cat([y_train, extra[1]])
    n_classes = int(max(y_tr.max(), y_te.max()).item()) + 1 if (y_tr >= 0).any() else 0
    _keep_labels(y_train, n_labeled, n_classes, seed)
    return Splits(x_train, y_train, x_val, y_val, x_te, y_te, image_shape, n_classes)


def _keep_labels(y_train: torch.Tensor, n_labeled: int, n_classes: int, seed: int) -> None:
    """With ``n_labeled >= 0``, set all but a class-balanced ``n_labeled`` of ``y_train`` to -1 (in place)."""
    if n_labeled >= 0:
        if n_classes == 0:
            raise AAEError("n_labeled was set but the data set has no labels")
        keep = balanced_label_mask(y_train, n_labeled, n_classes, seed)
        y_train[~keep] = -1


def _tfd_splits(tfd: TFD, fold: int, n_labeled: int, seed: int) -> Splits:
    """TFD's fold ``fold`` as :class:`Splits` (see :func:`load_splits`)."""
    train = np.sort(np.concatenate([tfd.part(fold, "unlabeled"), tfd.part(fold, "train")]))
    val, test = tfd.part(fold, "valid"), tfd.part(fold, "test")
    if len(train) == 0 or len(test) == 0:
        raise AAEError(f"TFD fold {fold} has {len(train)} training and {len(test)} test images; expected some of each")
    y_train = tfd.expression[train].copy()
    y_train[tfd.folds[train, fold] == TFD.PARTS["unlabeled"]] = -1  # whatever labs_ex holds there
    n_classes = int(tfd.expression.max()) + 1
    y_train = torch.from_numpy(y_train)
    _keep_labels(y_train, n_labeled, n_classes, seed)
    x, y = torch.from_numpy(tfd.images), torch.from_numpy(tfd.expression)
    val, test = torch.from_numpy(val), torch.from_numpy(test)
    return Splits(x[torch.from_numpy(train)], y_train, x[val], y[val], x[test], y[test], tfd.image_shape, n_classes)
