"""The ``[clustering]`` table (``cfg.clustering``): batch-level terms against clusters falling out of use.

The clustering AAE introduced them, so its family owns the table; every model with a categorical
code y reads the same one (:mod:`aae.models.categorical`: ``semisupervised``, ``dimred``,
``dimred-clustering``), and ``imsat`` (the terms alone, without the autoencoder).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aae.config import Config, FamilyTable, Rule, at_least


@dataclass
class ClusteringConfig(FamilyTable):
    """Models with a categorical code y (clustering above all): batch-level terms added to the
    encoder's adversarial cost, against clusters falling out of use (all off by default)."""

    balance_weight: float = 0.0  # × (log K − entropy of the batch-mean q(y|x)): keeps every cluster in use
    sharpness_weight: float = 0.0  # × mean entropy of q(y|x): confident assignments
    # × KL(q(y|x) || q(y|x + r_adv)), virtual adversarial training (IMSAT's smoothness): a sample
    # and its small perturbations belong to the same cluster
    vat_weight: float = 0.0
    vat_eps: float = 1.0  # L2 norm of the adversarial perturbation, in data units
    # 0: vat_eps is the norm; k > 0: each example's norm is vat_eps × its distance to its k-th nearest
    # training example (IMSAT: k = 10, vat_eps = 0.25), so dense regions get small perturbations
    vat_neighbour: int = 0
    # finite-difference step of the power iteration, L2 norm in data units: where it starts from x.
    # IMSAT's reference uses 10 on pixels in [-1, 1] (5 in [0, 1] units), far from x, so that the
    # direction found is that of the largest change at the scale of the perturbation itself
    vat_xi: float = 1e-3

    def rules(self, cfg: Config) -> list[tuple[str, Any, Rule]]:
        return [
            ("balance_weight", self.balance_weight, at_least(0)),
            ("sharpness_weight", self.sharpness_weight, at_least(0)),
            ("vat_weight", self.vat_weight, at_least(0)),
            ("vat_eps", self.vat_eps, at_least(0, strict=True)),
            ("vat_neighbour", self.vat_neighbour, at_least(0)),
            ("vat_xi", self.vat_xi, at_least(0, strict=True)),
        ]


#: this family's table: cfg.clustering, [clustering] in a file (aae.models registers it)
TABLE = ClusteringConfig
