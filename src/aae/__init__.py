"""Adversarial autoencoders (Makhzani et al., arXiv 1511.05644) on PyTorch."""

from aae.config import Config
from aae.errors import AAEError
from aae.models import AdversarialAutoencoder, Autoencoder, Model, PenaltyAutoencoder, build_model
from aae.priors import Categorical, Gaussian, GaussianMixture2D, Prior, SwissRoll, Uniform, make_prior

__version__ = "0.1.0"

__all__ = [
    "AAEError",
    "AdversarialAutoencoder",
    "Autoencoder",
    "Categorical",
    "Config",
    "Gaussian",
    "GaussianMixture2D",
    "Model",
    "PenaltyAutoencoder",
    "Prior",
    "SwissRoll",
    "Uniform",
    "build_model",
    "make_prior",
]
