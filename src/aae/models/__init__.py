"""Models: one variant per module, each a :class:`~aae.models.base.Model` (the contract in ``base``).

``MODELS`` names them for ``Config.model``; :func:`build_model` builds the one a config names and
:func:`check_config` checks a config against it before a run writes anything.
"""

from __future__ import annotations

from collections.abc import Sequence

from aae.config import Config
from aae.errors import AAEError
from aae.models.aae import AdversarialAutoencoder
from aae.models.autoencoder import Autoencoder
from aae.models.base import Capabilities, Model, adversarial_phases, reconstruction_loss
from aae.models.build import build_prior, check_standardize
from aae.models.classifier import VATClassifier
from aae.models.clustering import ClusteringAAE
from aae.models.dimred import DimensionalityReductionAAE, DimredClusteringAAE
from aae.models.imsat import IMSAT
from aae.models.penalty import PenaltyAutoencoder
from aae.models.semisupervised import SemiSupervisedAAE
from aae.models.supervised import SupervisedAAE
from aae.models.vae import VariationalAutoencoder
from aae.models.wae import WassersteinAutoencoder

#: ``Config.model`` -> model class
MODELS: dict[str, type[Model]] = {
    "autoencoder": Autoencoder,
    "aae": AdversarialAutoencoder,
    "wae": WassersteinAutoencoder,
    "vae": VariationalAutoencoder,
    "supervised": SupervisedAAE,
    "semisupervised": SemiSupervisedAAE,
    "clustering": ClusteringAAE,
    "dimred": DimensionalityReductionAAE,
    "dimred-clustering": DimredClusteringAAE,
    "classifier": VATClassifier,
    "imsat": IMSAT,
}


def model_class(name: str) -> type[Model]:
    """The class registered as ``name``; an unknown name raises with the list of names."""
    if name not in MODELS:
        raise AAEError(f"unknown model {name!r}; choose one of {sorted(MODELS)}")
    return MODELS[name]


def check_config(cfg: Config) -> Config:
    """Every check that needs no data: values (:meth:`Config.validate`), the model name, the
    model's own settings, the optimizers of its phases, the prior. Returns ``cfg``."""
    cfg.validate()
    cls = model_class(cfg.model)
    missing = [p for p in cls.phases if p not in cfg.optim]
    if missing:
        raise AAEError(f"model {cfg.model!r} trains phase(s) {missing} and the config has no optimizer for them "
                       f"(add optim.{missing[0]})")  # fmt: skip
    check_standardize(cfg)
    cls.check_config(cfg)
    build_prior(cfg)
    return cfg


def build_model(cfg: Config, data_dim: int, n_classes: int, image_shape: Sequence[int] | None = None) -> Model:
    """The model ``cfg.model`` for data of ``data_dim`` features (images of ``image_shape``, if any)."""
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
    "model_class",
    "reconstruction_loss",
]
