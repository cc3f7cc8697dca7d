"""Models: one family per folder, each model a :class:`~aae.models.base.Model` (the contract in ``base``).

A family is a package here, ``aae/models/<family>/``: ``model.py`` declares its models in a dict
``MODELS`` (``Config.model`` name -> class) and, if the family has settings of its own,
``config.py`` declares their table in ``TABLE`` (a :class:`~aae.config.FamilyTable` dataclass:
``cfg.<family>``, ``[<family>]`` in a file, with its defaults and rules). The modules here
(``base``, ``build``, ``penalty``, ``categorical``, ``classifier_terms``) are parts the families
share. Importing this package finds every family: :data:`MODELS` merges their models and their
tables go to :data:`aae.config.FAMILY_TABLES`, so adding a family edits no file outside its folder.

A family's ``__init__.py`` imports nothing: a family's table is read by others (``semisupervised``
by ``dimred`` and ``classifier``, ``clustering`` by ``imsat`` and the categorical base), and
importing ``aae.models.<family>.config`` must not drag in that family's model.

:func:`check_config` is the one check of a config, made once per run before anything is
written; :func:`build_model` builds the model a config names.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Sequence

from aae.config import FAMILY_TABLES, Config, FamilyTable
from aae.errors import AAEError
from aae.models.aae.model import AdversarialAutoencoder
from aae.models.autoencoder.model import Autoencoder
from aae.models.base import Capabilities, Model, adversarial_phases, reconstruction_loss
from aae.models.build import build_prior
from aae.models.classifier.model import VATClassifier
from aae.models.clustering.model import ClusteringAAE
from aae.models.dimred.model import DimensionalityReductionAAE, DimredClusteringAAE
from aae.models.imsat.model import IMSAT
from aae.models.penalty import PenaltyAutoencoder
from aae.models.semisupervised.model import SemiSupervisedAAE
from aae.models.supervised.model import SupervisedAAE
from aae.models.vae.model import VariationalAutoencoder
from aae.models.wae.model import WassersteinAutoencoder

# (the imports above keep the classes importable from aae.models, as before the families had
# folders; the registry below does not read them, and a new family need not be added there)


def find_families() -> tuple[dict[str, type[Model]], dict[str, type[FamilyTable]]]:
    """(``Config.model`` name -> class, family -> table) of every family: the packages of ``aae.models``."""
    models: dict[str, type[Model]] = {}
    tables: dict[str, type[FamilyTable]] = {}
    for family in sorted(m.name for m in pkgutil.iter_modules(__path__) if m.ispkg):
        for name, cls in importlib.import_module(f"aae.models.{family}.model").MODELS.items():
            if name in models:
                raise AAEError(f"model {name!r} is declared by two families ({models[name].__module__}, {family})")
            models[name] = cls
        if importlib.util.find_spec(f"aae.models.{family}.config") is not None:
            tables[family] = importlib.import_module(f"aae.models.{family}.config").TABLE
    return models, tables


#: ``Config.model`` -> model class, every family's
MODELS, _tables = find_families()
FAMILY_TABLES.update(_tables)


def model_class(name: str) -> type[Model]:
    """The class registered as ``name``; an unknown name raises with the list of names."""
    if name not in MODELS:
        raise AAEError(f"unknown model {name!r}; choose one of {sorted(MODELS)}")
    return MODELS[name]


def check_config(cfg: Config) -> Config:
    """The one check of a config, everything that needs no data: the values (:meth:`Config.validate`:
    the shared rules and each family's table's), the model name, the optimizers of its phases, the
    model's own requirements (``Model.check_config``) and the prior's parameters. Raises the first
    problem as one :class:`AAEError` (one ``error:`` line from the command line); returns ``cfg``.

    ``train_run`` calls it once, before the data are loaded or any file is written; what needs the
    data (sizes against the number of classes) is refused when the model is built, still before.
    """
    cfg.validate()
    cls = model_class(cfg.model)
    missing = [p for p in cls.phases if p not in cfg.optim]
    if missing:
        raise AAEError(f"model {cfg.model!r} trains phase(s) {missing} and the config has no optimizer for them "
                       f"(add optim.{missing[0]})")  # fmt: skip
    cls.check_config(cfg)
    build_prior(cfg)
    return cfg


def build_model(
    cfg: Config, data_dim: int, n_classes: int, image_shape: Sequence[int] | None = None, check: bool = True
) -> Model:
    """The model ``cfg.model`` for data of ``data_dim`` features (images of ``image_shape``, if any).

    ``check=False`` skips :func:`check_config`, for a caller that has just made it (``train_run``).
    """
    if check:
        check_config(cfg)
    return model_class(cfg.model).from_config(cfg, data_dim, n_classes, image_shape)


__all__ = [
    "MODELS",
    "AdversarialAutoencoder",
    "Autoencoder",
    "Capabilities",
    "ClusteringAAE",
    "DimensionalityReductionAAE",
    "DimredClusteringAAE",
    "IMSAT",
    "Model",
    "PenaltyAutoencoder",
    "SemiSupervisedAAE",
    "SupervisedAAE",
    "VATClassifier",
    "VariationalAutoencoder",
    "WassersteinAutoencoder",
    "adversarial_phases",
    "build_model",
    "build_prior",
    "check_config",
    "find_families",
    "model_class",
    "reconstruction_loss",
]
