"""Model ``wae``: the Wasserstein autoencoder with an MMD penalty (Tolstikhin et al. 2018), beside the AAE."""

from __future__ import annotations

from typing import ClassVar

from aae.config import Config
from aae.models.penalty import PenaltyAutoencoder
from aae.priors import Prior
from aae.regularizers import MMDRegularizer


class WassersteinAutoencoder(PenaltyAutoencoder):
    """Reconstruction + ``wae.weight`` · MMD²(q(z), p(z)) over each mini-batch (settings: ``Config.wae``)."""

    metrics: ClassVar[dict[str, str]] = {**PenaltyAutoencoder.metrics, "mmd": "recon"}

    @classmethod
    def make_regularizer(cls, cfg: Config, prior: Prior) -> MMDRegularizer:
        w = cfg.wae
        return MMDRegularizer(prior, cfg.network.code_dim, w.weight, w.kernel, w.scales, w.closed_form)


#: this family's models by Config.model name (aae.models registers them)
MODELS = {"wae": WassersteinAutoencoder}
