"""The ``[wae]`` table (``cfg.wae``): the WAE-MMD's weight and kernel."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aae.config import Config, FamilyTable, Rule, at_least, each, one_of
from aae.regularizers import MMD_KERNELS


@dataclass
class WAEConfig(FamilyTable):
    """Model ``wae`` (WAE-MMD): reconstruction + ``weight`` · MMD²(q(z), p(z))."""

    weight: float = 10.0  # λ
    kernel: str = "imq"  # imq (inverse multiquadratics) | rbf (Gaussian)
    scales: list[float] = field(default_factory=lambda: [0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0])  # C = 2·d·σ²·s
    closed_form: bool = False  # rbf + Gaussian / mixture prior: exact prior-side kernel expectations

    def rules(self, cfg: Config) -> list[tuple[str, Any, Rule]]:
        return [
            ("weight", self.weight, at_least(0)),
            ("kernel", self.kernel, one_of(MMD_KERNELS)),
            ("scales", self.scales, each(at_least(0, strict=True), nonempty=True)),
        ]


#: this family's table: cfg.wae, [wae] in a file (aae.models registers it)
TABLE = WAEConfig
