"""The adversarial autoencoder of paper §2 as a scikit-learn transformer."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from aae.networks import ENCODER_KINDS
from aae.sklearn._base import AAEMixin, CodeTransformerMixin
from aae.sklearn._checks import FLOATS, at_least, check_int, one_of, optional, seed_from
from aae.sklearn._params import estimator, param


@estimator
class AAETransformer(CodeTransformerMixin, AAEMixin, BaseEstimator):
    """Adversarial autoencoder (paper §2) as a scikit-learn transformer.

    An encoder maps each sample to a code of ``n_components`` values, a decoder maps codes
    back, and a discriminator makes the distribution of the codes match ``prior``:
    ``transform`` gives the codes, ``inverse_transform`` decodes codes, ``sample`` decodes
    draws from the prior and ``score`` measures the reconstruction.

    Attributes
    ----------
    model_ : torch.nn.Module
        The trained :class:`aae.models.AdversarialAutoencoder`.
    """

    n_components: int = param(default=2, kind="int", doc="Size of the code.", check=at_least(1), kw_only=False)
    encoder: str = param(
        default="deterministic",
        kind='{"deterministic", "gaussian", "universal"}',
        doc="The encoder kinds of paper §2. ``transform`` never samples: it returns the mean of a Gaussian encoder "
        "and the universal encoder's code at noise 0.",
        check=one_of(*ENCODER_KINDS),
    )
    noise_dim: int | None = param(
        default=None,
        kind="int or None",
        doc="Noise inputs of the universal encoder (None: ``n_components``).",
        check=optional(at_least(1)),
    )

    def fit(self, X: Any, y: Any = None) -> AAETransformer:
        """Train on ``X`` ``(n_samples, n_features)``; ``y`` is ignored. Returns ``self``."""
        X, _ = self._validate_fit_data(X)
        noise = (self.noise_dim or self.n_components) if self.encoder == "universal" else 0
        code_dim = int(self.n_components)
        unlabeled = np.full(len(X), -1)
        self.model_, self.config_ = self._fit_model(
            "aae", X, unlabeled, 0, code_dim, encoder=self.encoder, noise_dim=noise
        )
        return self

    def sample(self, n_samples: int = 1, random_state: Any = None) -> np.ndarray:
        """Decode ``n_samples`` draws from the prior: ``(n_samples, n_features_in_)`` float64."""
        check_is_fitted(self)
        check_int("n_samples", n_samples, 1)
        generator = torch.Generator().manual_seed(seed_from(random_state))
        return self.model_.sample(n_samples, generator).float().cpu().numpy().astype(np.float64)

    def score(self, X: Any, y: Any = None) -> float:
        """Minus the mean squared reconstruction error per feature (higher is better)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=FLOATS, reset=False)
        rec = self._infer(lambda m, x: m.decoder(self._codes(m, x)), X)
        return -float(np.mean((rec - X) ** 2))

    def _codes(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """Codes without sampling: a Gaussian encoder's mean, the universal encoder at noise η = 0."""
        encoder = model.encoder
        if encoder.noise_dim:
            return encoder.net(torch.cat([x, x.new_zeros(len(x), encoder.noise_dim)], 1))
        return encoder(x, sample=False)
