"""Model ``clustering``: unsupervised clustering into ``network.n_clusters`` clusters (paper §6, Fig. 9, Table 3)."""

from __future__ import annotations

from aae.config import Config
from aae.models.categorical import CategoricalAAE, n_clusters


class ClusteringAAE(CategoricalAAE):
    """y holds K unsupervised clusters; evaluated by naming each cluster after the label of its
    most confident validation example."""

    @classmethod
    def n_categories(cls, cfg: Config, n_classes: int) -> int:
        return n_clusters(cfg, n_classes)
