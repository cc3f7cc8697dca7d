"""The ``[aae]`` table (``cfg.aae``): label-informed regularization (paper §2.3)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aae.config import Config, FamilyTable, Rule, at_least


@dataclass
class AAEConfig(FamilyTable):
    """Model ``aae``: label-informed regularization (paper §2.3)."""

    use_labels: bool = False  # the discriminator also sees a one-hot label (-1: an extra "no label" input)
    label_weight: float = 1.0  # weight of a labeled example in the adversarial losses

    def rules(self, cfg: Config) -> list[tuple[str, Any, Rule]]:
        return [("label_weight", self.label_weight, at_least(0, strict=True))]


#: this family's table: cfg.aae, [aae] in a file (aae.models registers it)
TABLE = AAEConfig
