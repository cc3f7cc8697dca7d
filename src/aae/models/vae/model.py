"""Model ``vae``: the variational autoencoder (Kingma and Welling 2014), beside the AAE."""

from __future__ import annotations

from typing import ClassVar

from aae.config import Config
from aae.errors import AAEError
from aae.models.penalty import PenaltyAutoencoder
from aae.priors import Prior
from aae.regularizers import KLRegularizer


class VariationalAutoencoder(PenaltyAutoencoder):
    """Reconstruction + ``vae.kl_weight`` · KL(q(z|x) || p(z)); needs ``network.encoder = "gaussian"``."""

    metrics: ClassVar[dict[str, str]] = {**PenaltyAutoencoder.metrics, "kl": "recon"}

    @classmethod
    def check_config(cls, cfg: Config) -> None:
        if cfg.network.encoder != "gaussian":
            raise AAEError(
                f"model 'vae' needs a Gaussian posterior: set network.encoder=gaussian (got {cfg.network.encoder!r})"
            )

    @classmethod
    def make_regularizer(cls, cfg: Config, prior: Prior) -> KLRegularizer:
        return KLRegularizer(prior, cfg.network.code_dim, cfg.vae.kl_weight)


#: this family's models by Config.model name (aae.models registers them)
MODELS = {"vae": VariationalAutoencoder}
