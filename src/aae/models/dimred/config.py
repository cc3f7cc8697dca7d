"""The ``[dimred]`` table (``cfg.dimred``): the cluster heads of dimensionality reduction (paper §7)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aae.config import Config, FamilyTable, Rule, at_least, one_of

HEADS = ("learned", "identity")


@dataclass
class DimredConfig(FamilyTable):
    """Models ``dimred`` and ``dimred-clustering`` (paper §7): representation W_C·y + z."""

    heads: str = "learned"  # learned | identity
    head_scale: float = 10.0  # identity heads: W_C = head_scale·I (needs code_dim = number of clusters)
    head_margin: float = 6.0  # learned heads: penalty on pairwise head distances below this threshold η
    head_weight: float = 1.0  # weight of that penalty in the reconstruction phase

    def rules(self, cfg: Config) -> list[tuple[str, Any, Rule]]:
        return [
            ("heads", self.heads, one_of(HEADS)),
            ("head_scale", self.head_scale, at_least(0, strict=True)),
            ("head_margin", self.head_margin, at_least(0, strict=True)),
            ("head_weight", self.head_weight, at_least(0)),
        ]


#: this family's table: cfg.dimred, [dimred] in a file (aae.models registers it)
TABLE = DimredConfig
