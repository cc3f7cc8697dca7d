"""The ``[vae]`` table (``cfg.vae``): the weight of the VAE's KL term."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aae.config import Config, FamilyTable, Rule, at_least


@dataclass
class VAEConfig(FamilyTable):
    """Model ``vae``: reconstruction + ``kl_weight`` · KL(q(z|x) || p(z)); needs a Gaussian encoder."""

    kl_weight: float = 1.0  # 1: the ELBO

    def rules(self, cfg: Config) -> list[tuple[str, Any, Rule]]:
        return [("kl_weight", self.kl_weight, at_least(0))]


#: this family's table: cfg.vae, [vae] in a file (aae.models registers it)
TABLE = VAEConfig
