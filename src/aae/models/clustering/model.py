"""Model ``clustering``: unsupervised clustering into ``network.n_clusters`` clusters (paper §6, Fig. 9, Table 3)."""

from __future__ import annotations

from typing import ClassVar

from aae.config import Config
from aae.errors import AAEError
from aae.models.base import Capabilities
from aae.models.categorical import CATEGORICAL_METRICS, UNSUPERVISED_PHASES, CategoricalAAE, n_clusters


class ClusteringAAE(CategoricalAAE):
    """y holds K unsupervised clusters; evaluated by naming each cluster after the label of its
    most confident validation example."""

    # bf16: 5 epochs of mnist-clusters-16-paper, seeds 0-2, end as well as in float32
    # (benchmarks/precision_parity.py; the numbers in docs/speed.md)
    capabilities: ClassVar[Capabilities] = Capabilities(clusters=True, label_decoder=True, heads=True, bf16_parity=True)

    @classmethod
    def categories_for(cls, cfg: Config, n_classes: int) -> int:
        return n_clusters(cfg, n_classes)


class ClusteringTermsPhaseAAE(ClusteringAAE):
    """The clustering AAE with its ``[clustering]`` terms (balance, sharpness, VAT) in a phase of
    their own, ``cluster``, after the adversarial phases: one step of ``optim.cluster`` on q(y|x)'s
    parameters (shared layers and the y head), as IMSAT takes them alone, instead of a share of
    the encoder's adversarial step with its optimizer. Why: results/reproduce/attempts.md, Table 3 #22."""

    terms_phase: ClassVar[str] = "cluster"
    phases: ClassVar[tuple[str, ...]] = (*UNSUPERVISED_PHASES, "cluster")
    metrics: ClassVar[dict[str, str]] = {
        **CATEGORICAL_METRICS,
        "balance_loss": "cluster",
        "cluster_vat_loss": "cluster",
    }

    @classmethod
    def check_config(cls, cfg: Config) -> None:
        c = cfg.clustering
        if c.balance_weight == 0 and c.sharpness_weight == 0 and c.vat_weight == 0:
            raise AAEError(
                "model 'clustering-terms-phase' trains its cluster phase on clustering.balance_weight, "
                "sharpness_weight and vat_weight, and all three are 0; use model 'clustering'"
            )


#: this family's models by Config.model name (aae.models registers them)
MODELS = {"clustering": ClusteringAAE, "clustering-terms-phase": ClusteringTermsPhaseAAE}
