"""What is known about the upstream data files: names, sizes, checksums, mirrors, licences.

Plain tables (and one look-up in them): the layers above (:mod:`aae.data.files`, :mod:`aae.data.fetch`,
:mod:`aae.data.datasets`) look them up at call time as ``catalog.NAME``, so a test can
patch an entry here and every layer sees it.
"""

from __future__ import annotations

#: the MNIST-layout IDX files of each split (MNIST and Fashion-MNIST use the same names)
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

#: base URLs tried in order (``$AAE_MIRROR`` goes first, see :func:`aae.data.fetch.mirror_urls`)
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

TFD_ON_REQUEST = (
    "the Toronto Face Database is distributed on request only (Susskind, Anderson and Hinton 2010, "
    "University of Toronto), so it cannot be downloaded"
)
TFD_HOW_TO_GET = f"{TFD_ON_REQUEST}; put TFD_48x48.mat in <data-dir>/tfd/ (or $AAE_DATA/tfd/, ~/.cache/aae/tfd/)"


def download_name(dataset: str, filename: str) -> str | None:
    """The ``aae data download NAME`` that fetches ``dataset/filename``; None if no name does (TFD)."""
    return next((name for name, (folder, files) in DOWNLOADS.items() if folder == dataset and filename in files), None)
