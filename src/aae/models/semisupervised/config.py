"""The ``[semisupervised]`` table (``cfg.semisupervised``): the classification phase's terms.

The semi-supervised AAE introduced them, so its family owns the table; the other models with a
classification phase read the same one, so that a recipe carries over unchanged: ``dimred``
(and its categorical base, :mod:`aae.models.categorical`) and ``classifier`` (the VAT component alone).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aae.config import Config, FamilyTable, Rule, at_least, below


@dataclass
class SemiSupervisedConfig(FamilyTable):
    """Models ``semisupervised`` and ``dimred``: what the classification phase does besides the
    paper's cross-entropy on labeled examples (all off by default: the paper's model)."""

    labeled_bn_stats: bool = True  # the labeled mini-batch updates batch norm's running statistics
    labeled_recon: float = 0.0  # weight of reconstructing labeled images from their true one-hot label
    vat_weight: float = 0.0  # weight of virtual adversarial training on the unlabeled mini-batch
    vat_eps: float = 2.0  # L2 norm of the adversarial perturbation, in data units
    # finite-difference step of VAT's power iteration, L2 norm in data units; 1e-6 (the VAT paper's,
    # on zero-mean data) is mostly rounded away in float32 on pixels in [0, 1]
    vat_xi: float = 1e-3
    entmin_weight: float = 0.0  # weight of the entropy of q(y|x) on the unlabeled mini-batch
    # the labeled cross-entropy's target puts this much probability evenly on every class (Szegedy
    # et al. 2016), so no labeled image, however atypical, is learned with full confidence
    label_smoothing: float = 0.0
    # mixup (Zhang et al. 2018) on the labeled batch: α of the Beta(α, α) weight that mixes each
    # labeled image, and its one-hot target, with another of the batch (0: off; 1: a uniform weight)
    labeled_mixup: float = 0.0
    # the labeled images of the cross-entropy translated by up to this many pixels along each axis,
    # each its own draw (0: off): more views of the few labels, in the classification phase only;
    # the reconstruction and regularization phases see the images unmoved
    labeled_shift: int = 0
    # m softmax units per class (y has K = m × classes categories, class c owns units c·m .. c·m + m − 1;
    # q(class|x) is the sum over its units): a class can hold several modes of its own, so two
    # similar classes need not share one unit's prior mass
    categories_per_class: int = 1
    # weight of the mean-teacher consistency (Tarvainen & Valpola 2017): the squared distance
    # between q(y|x) and the weight average's (``ema``, needed) on the unlabeled mini-batch
    teacher_weight: float = 0.0
    # epochs over which that weight rises from exp(−5) of itself to all of it, as exp(−5 (1 − t)²)
    # (Tarvainen & Valpola's ramp-up): the early weight average is no teacher yet (0: constant)
    teacher_rampup: float = 0.0

    def rules(self, cfg: Config) -> list[tuple[str, Any, Rule]]:
        def teacher_needs_ema(v: float) -> str | None:
            return "needs the weight average as its teacher: set ema > 0" if v > 0 and not cfg.ema > 0 else None

        return [
            ("labeled_recon", self.labeled_recon, at_least(0)),
            ("vat_weight", self.vat_weight, at_least(0)),
            ("vat_eps", self.vat_eps, at_least(0, strict=True)),
            ("vat_xi", self.vat_xi, at_least(0, strict=True)),
            ("entmin_weight", self.entmin_weight, at_least(0)),
            ("label_smoothing", self.label_smoothing, below(1)),
            ("labeled_mixup", self.labeled_mixup, at_least(0)),
            ("labeled_shift", self.labeled_shift, at_least(0)),
            ("categories_per_class", self.categories_per_class, at_least(1)),
            ("teacher_weight", self.teacher_weight, at_least(0)),
            ("teacher_weight", self.teacher_weight, teacher_needs_ema),
            ("teacher_rampup", self.teacher_rampup, at_least(0)),
        ]


#: this family's table: cfg.semisupervised, [semisupervised] in a file (aae.models registers it)
TABLE = SemiSupervisedConfig
