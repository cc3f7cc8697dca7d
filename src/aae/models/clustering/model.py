"""Model ``clustering``: unsupervised clustering into ``network.n_clusters`` clusters (paper §6, Fig. 9, Table 3)."""

from __future__ import annotations

from typing import ClassVar

from aae.config import Config
from aae.models.base import Capabilities
from aae.models.categorical import CategoricalAAE, n_clusters


class ClusteringAAE(CategoricalAAE):
    """y holds K unsupervised clusters; evaluated by naming each cluster after the label of its
    most confident validation example."""

    # bf16: 5 epochs of mnist-clusters-16-paper, seeds 0-2, end as well as in float32
    # (benchmarks/precision_parity.py; the numbers in docs/speed.md)
    capabilities: ClassVar[Capabilities] = Capabilities(clusters=True, label_decoder=True, heads=True, bf16_parity=True)

    @classmethod
    def categories_for(cls, cfg: Config, n_classes: int) -> int:
        return n_clusters(cfg, n_classes)


#: this family's models by Config.model name (aae.models registers them)
MODELS = {"clustering": ClusteringAAE}
