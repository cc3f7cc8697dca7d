"""``aae data list`` / ``verify``: which known files are where, and whether they are the upstream ones."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aae.data import catalog
from aae.data.files import check_file, locate
from aae.errors import AAEError


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
    """Report every file of :data:`~aae.data.catalog.KNOWN_FILES` (or of ``datasets``): found
    where, and whether it is the upstream file.

    Without ``verify`` only sizes are compared (fast); with it, digests too (reads every
    file). TFD has no published checksum: ``verify`` checks that its fields are there.
    """
    unknown = sorted(set(datasets or []) - set(catalog.KNOWN_FILES))
    if unknown:
        raise AAEError(f"unknown data set(s) {unknown}; known: {', '.join(catalog.KNOWN_FILES)}")
    reports = []
    for dataset, files in catalog.KNOWN_FILES.items():
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
    """``(status, ok)`` of one found file: its size, and with ``verify`` its digest."""
    size = catalog.SIZES.get(dataset, {}).get(filename)
    expected = catalog.CHECKSUMS.get(dataset, {}).get(filename)
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
    import scipy.io  # only the .mat data sets need it; it adds ~0.3 s to the CLI's start

    try:
        shapes = {name: shape for name, shape, _ in scipy.io.whosmat(path)}
    except Exception as e:
        return f"not a readable .mat file ({type(e).__name__})", False
    missing = [f for f in catalog.TFD_FIELDS if f not in shapes]
    if missing:
        return f"field(s) {missing} missing", False
    return f"fields ok ({shapes['images'][0]:,} images; no published checksum)", True
