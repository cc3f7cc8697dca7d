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

The layers, each importing only those above it:

- :mod:`aae.data.catalog`: the upstream files' names, sizes, checksums, mirrors, licences
- :mod:`aae.data.files`: where local files are looked for, and checking their bytes
- :mod:`aae.data.fetch`: downloading (resume, locking, mirrors) and :func:`find_file`
- :mod:`aae.data.inventory`: the reports of ``aae data list`` / ``verify``
- :mod:`aae.data.formats`: IDX, ``.mat`` and ``.npy``/``.npz`` readers (bytes to arrays)
- :mod:`aae.data.splits`: :class:`Splits`, :func:`as_float`, split protocols, kept labels
- :mod:`aae.data.datasets`: the named data sets and :func:`load_splits`
- :mod:`aae.data.neighbours`: :func:`kth_neighbour_distance` (IMSAT's per-example radius)
- :mod:`aae.data.standardizer`: :class:`Standardizer`, per-dimension standardization

Everything is re-exported here, so ``from aae.data import load_splits`` keeps working.
Tests that patch a table or function patch it in the module that uses it (e.g.
``aae.data.catalog.CHECKSUMS``, ``aae.data.fetch.download``).
"""

from aae.data.catalog import (
    CHECKSUMS,
    DOWNLOADS,
    IDX_DATASETS,
    KNOWN_FILES,
    LICENCES,
    MIRRORS,
    SIZES,
    SPLIT_FILES,
    SVHN_FILES,
    TFD_FIELDS,
    TFD_FILE,
    TFD_HOW_TO_GET,
    TFD_ON_REQUEST,
    download_name,
)
from aae.data.datasets import DATASETS, LOADERS, load_idx_dataset, load_splits, load_svhn, load_tfd
from aae.data.fetch import download, find_file, how_to_get, mirror_urls
from aae.data.files import (
    cache_dir,
    candidate_paths,
    check_file,
    describe_dirs,
    file_digest,
    locate,
    search_dirs,
    sha256_file,
)
from aae.data.formats import (
    TFD,
    load_array_file,
    parse_idx,
    read_idx_gz,
    read_mat,
    read_svhn_mat,
    read_tfd_mat,
    validate_array,
)
from aae.data.inventory import FileReport, inspect_files
from aae.data.neighbours import kth_neighbour_distance
from aae.data.splits import Splits, array_split_rows, as_float, balanced_label_mask
from aae.data.standardizer import Standardizer, standardize, unstandardize

__all__ = [
    "CHECKSUMS",
    "DATASETS",
    "DOWNLOADS",
    "IDX_DATASETS",
    "KNOWN_FILES",
    "LICENCES",
    "LOADERS",
    "MIRRORS",
    "SIZES",
    "SPLIT_FILES",
    "SVHN_FILES",
    "TFD",
    "TFD_FIELDS",
    "TFD_FILE",
    "TFD_HOW_TO_GET",
    "TFD_ON_REQUEST",
    "FileReport",
    "Splits",
    "Standardizer",
    "array_split_rows",
    "as_float",
    "balanced_label_mask",
    "cache_dir",
    "candidate_paths",
    "check_file",
    "describe_dirs",
    "download",
    "download_name",
    "file_digest",
    "find_file",
    "how_to_get",
    "inspect_files",
    "kth_neighbour_distance",
    "load_array_file",
    "load_idx_dataset",
    "load_splits",
    "load_svhn",
    "load_tfd",
    "locate",
    "mirror_urls",
    "parse_idx",
    "read_idx_gz",
    "read_mat",
    "read_svhn_mat",
    "read_tfd_mat",
    "search_dirs",
    "sha256_file",
    "standardize",
    "unstandardize",
    "validate_array",
]
