"""Models ``dimred`` and ``dimred-clustering``: dimensionality reduction with cluster heads (paper §7, Fig. 10-11).

The n-D representation is r = W_C·y + z: ``cluster_heads`` W_C ``(K, n)`` holds one head per
class / cluster, y = softmax of the encoder's class head, z the n-D style. The decoder
reconstructs from r. Learned heads are trained in the reconstruction phase with a penalty
Σ_{i<j} max(0, η - |W_i - W_j|) that pushes every two heads at least η = ``head_margin``
apart; fixed heads (``dimred.heads = "identity"``: head_scale·I) are a buffer.
``dimred`` is semi-supervised (a head per class, or ``semisupervised.categories_per_class`` per
class, and the classification phase);
``dimred-clustering`` is unsupervised (``network.n_clusters`` heads).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import nn

from aae.config import Config
from aae.errors import AAEError
from aae.models.base import Capabilities
from aae.models.build import initialized
from aae.models.categorical import (
    CATEGORICAL_METRICS,
    CLASSIFY_METRICS,
    SEMISUPERVISED_PHASES,
    UNSUPERVISED_PHASES,
    CategoricalAAE,
    categorical_parts,
    n_clusters,
    one_per_class,
)


class DimensionalityReductionAAE(CategoricalAAE):
    """Semi-supervised dimensionality reduction: one head per class, and the classification phase."""

    classify: ClassVar[bool] = True
    phases: ClassVar[tuple[str, ...]] = SEMISUPERVISED_PHASES
    metrics: ClassVar[dict[str, str]] = {**CATEGORICAL_METRICS, **CLASSIFY_METRICS, "head_penalty": "recon"}
    # bf16: 5 epochs of mnist-dimred-2d-1000-paper, seeds 0-2, end as well as in float32
    # (benchmarks/precision_parity.py; the numbers in docs/speed.md)
    capabilities: ClassVar[Capabilities] = Capabilities(
        classes=True,
        labeled_batch=True,
        teacher=True,
        label_decoder=True,
        heads=True,
        representation=True,
        bf16_parity=True,
    )

    def __init__(
        self,
        *parts: nn.Module,
        heads: torch.Tensor,
        learn_heads: bool = True,
        head_margin: float = 6.0,
        head_weight: float = 1.0,
        **kwargs,
    ):
        """``parts`` and ``kwargs`` as :class:`CategoricalAAE` takes them; ``heads`` W_C ``(K, n)`` the
        starting cluster heads, trained when ``learn_heads`` with the penalty's ``head_margin`` η
        and ``head_weight``."""
        super().__init__(*parts, **kwargs)
        if learn_heads:
            self.cluster_heads = nn.Parameter(heads.clone())
        else:
            self.register_buffer("cluster_heads", heads.clone())
        self.learn_heads, self.head_margin, self.head_weight = learn_heads, head_margin, head_weight

    @classmethod
    def categories_for(cls, cfg: Config, n_classes: int) -> int:
        return one_per_class(cfg, n_classes)

    @classmethod
    def from_config(
        cls, cfg: Config, data_dim: int, n_classes: int, image_shape: Sequence[int] | None = None
    ) -> DimensionalityReductionAAE:
        k = cls.categories_for(cfg, n_classes)
        heads, learn = initial_heads(cfg, k)
        parts = categorical_parts(cfg, data_dim, k, cfg.network.code_dim, image_shape)
        d = cfg.dimred
        model = cls(
            *parts, heads=heads, learn_heads=learn, head_margin=d.head_margin, head_weight=d.head_weight,
            recon_loss=cfg.recon_loss, terms=cfg.semisupervised, clusters=cfg.clustering,
            labeled_chw=cls.labeled_chw_for(cfg, image_shape, data_dim),
        )  # fmt: skip
        return initialized(model, cfg)

    def phase_parameters(self) -> dict[str, list[nn.Parameter]]:
        params = super().phase_parameters()
        if self.learn_heads:
            params["recon"].append(self.cluster_heads)
        return params

    def _decoder_input(self, logits: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self._one_hot_input(torch.softmax(logits.float(), 1).to(z.dtype), z)

    def _one_hot_input(self, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return y @ self.cluster_heads.to(z.dtype) + z

    def head_penalty(self) -> torch.Tensor:
        """Σ over head pairs of max(0, η - distance): 0 once every two heads are η apart."""
        d = torch.pdist(self.cluster_heads.float())
        return torch.relu(self.head_margin - d).sum()

    def _recon_penalty(self) -> torch.Tensor | None:
        return self.head_weight * self.head_penalty() if self.learn_heads else None

    @torch.no_grad()
    def represent(self, x: torch.Tensor) -> torch.Tensor:
        """The n-D representation W_C·y + z of ``x`` ``(m, d)``: ``(m, n)``."""
        logits, z = self.encoder(x)
        return self._decoder_input(logits, z)

    @torch.no_grad()
    def view_2d(self, r: torch.Tensor) -> torch.Tensor:
        """A 2-D picture of representations ``r`` ``(m, n)``: ``r`` itself when n = 2, else the
        linear map that sends head k to angle 2πk/K on a circle (paper Fig. 11c)."""
        if r.shape[1] == 2:
            return r.detach()  # e.g. the learned heads themselves: a parameter
        k = len(self.cluster_heads)
        angle = 2 * torch.pi * torch.arange(k, dtype=torch.float32) / k
        circle = torch.stack([angle.cos(), angle.sin()], 1).to(r.device)
        return r.float() @ torch.linalg.pinv(self.cluster_heads.float()) @ circle

    @torch.no_grad()
    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Images ``(m, d)`` of class / cluster ``labels`` ``(m,)`` (its head W_C[label]; a class's
        first head with several per class) in styles ``z``."""
        if labels is None:
            raise AAEError(f"the {type(self).__name__} decodes a style with a class: pass labels")
        return self.decoder(self.cluster_heads[self.categories(labels.to(z.device))].to(z.dtype) + z)


class DimredClusteringAAE(DimensionalityReductionAAE):
    """Unsupervised dimensionality reduction: ``network.n_clusters`` heads, no classification phase."""

    classify: ClassVar[bool] = False
    phases: ClassVar[tuple[str, ...]] = UNSUPERVISED_PHASES
    metrics: ClassVar[dict[str, str]] = {**CATEGORICAL_METRICS, "head_penalty": "recon"}
    # bf16: the semi-supervised dimred network without its classification phase, and the clustering
    # model with the dimred decoder input: both measured to train as well in bf16
    capabilities: ClassVar[Capabilities] = Capabilities(
        clusters=True, label_decoder=True, heads=True, representation=True, bf16_parity=True
    )

    @classmethod
    def categories_for(cls, cfg: Config, n_classes: int) -> int:
        return n_clusters(cfg, n_classes)


def spread_heads(k: int, dim: int, spacing: float) -> torch.Tensor:
    """``k`` starting heads ``(k, dim)``, neighbours ``spacing`` apart: on a circle in the first two
    dimensions (on a line when ``dim`` is 1), zero in the others.

    Every two heads start further apart than the penalty's threshold, whatever the optimizer:
    heads drawn at random overlap, and Adam at the unsupervised presets' 1e-4 moves them about
    1 unit in 10,000 steps, too slowly to separate them (measured: head penalty 93 after 3 epochs).
    """
    if dim == 1:
        return (torch.arange(k, dtype=torch.float32) - (k - 1) / 2).unsqueeze(1) * spacing
    radius = spacing / (2 * math.sin(math.pi / k)) if k > 1 else 0.0
    angle = 2 * math.pi * torch.arange(k, dtype=torch.float32) / k
    heads = torch.zeros(k, dim)
    heads[:, 0], heads[:, 1] = radius * angle.cos(), radius * angle.sin()
    return heads


def initial_heads(cfg: Config, k: int) -> tuple[torch.Tensor, bool]:
    """(W_C ``(k, code_dim)``, learned?) as ``dimred.heads`` says."""
    d, code_dim = cfg.dimred, cfg.network.code_dim
    if d.heads == "identity":
        if code_dim != k:
            raise AAEError(f"dimred.heads='identity' needs network.code_dim equal to the {k} clusters, got {code_dim}")
        return d.head_scale * torch.eye(k), False
    return spread_heads(k, code_dim, 1.5 * d.head_margin), True


#: this family's models by Config.model name (aae.models registers them)
MODELS = {"dimred": DimensionalityReductionAAE, "dimred-clustering": DimredClusteringAAE}
