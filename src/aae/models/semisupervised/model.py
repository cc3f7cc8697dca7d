"""Model ``semisupervised``: semi-supervised classification (paper §5, Fig. 8, Table 2)."""

from __future__ import annotations

from typing import ClassVar

from aae.config import Config
from aae.models.base import Capabilities
from aae.models.categorical import (
    CATEGORICAL_METRICS,
    CLASSIFY_METRICS,
    SEMISUPERVISED_PHASES,
    CategoricalAAE,
    one_per_class,
)


class SemiSupervisedAAE(CategoricalAAE):
    """y has one softmax unit per class; besides the unsupervised phases, ``classify`` trains
    q(y|x) by cross-entropy on a mini-batch of the labeled examples every step."""

    classify: ClassVar[bool] = True
    phases: ClassVar[tuple[str, ...]] = SEMISUPERVISED_PHASES
    metrics: ClassVar[dict[str, str]] = {**CATEGORICAL_METRICS, **CLASSIFY_METRICS}
    # bf16: 5 epochs of mnist-semisupervised-100-vat, seeds 0-2, end as well as in float32
    # (benchmarks/precision_parity.py; the numbers in docs/speed.md)
    capabilities: ClassVar[Capabilities] = Capabilities(
        classes=True, labeled_batch=True, teacher=True, label_decoder=True, heads=True, bf16_parity=True
    )

    @classmethod
    def categories_for(cls, cfg: Config, n_classes: int) -> int:
        return one_per_class(cfg, n_classes)


#: this family's models by Config.model name (aae.models registers them)
MODELS = {"semisupervised": SemiSupervisedAAE}
