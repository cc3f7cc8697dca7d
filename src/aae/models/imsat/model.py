"""``IMSAT``: information-maximizing clustering with self-augmented training, one ``cluster`` step a batch.

The cost, in nats: ``clustering.vat_weight`` × VAT (the perturbation ``vat_eps`` × each example's
distance to its ``vat_neighbour``-th nearest training example, power iteration from
``vat_xi``) + ``balance_weight`` × (log K − H(mean q)) + ``sharpness_weight`` × mean H(q): IMSAT's
R_sat − λ (H(Y) − μ H(Y|X)) with the same :func:`~aae.models.classifier_terms.vat_loss` and
:func:`~aae.models.classifier_terms.balance_cost` that the clustering AAE adds to its adversarial phase.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from typing import ClassVar

import torch
from torch import nn

from aae.config import Config
from aae.errors import AAEError
from aae.models.base import Amp, Capabilities, PredictorModel
from aae.models.build import initialized
from aae.models.categorical import n_clusters
from aae.models.classifier.model import ClassifierNet
from aae.models.classifier_terms import balance_cost, frozen_batchnorm_stats, no_dropout, vat_loss
from aae.models.clustering.config import ClusteringConfig

IMSAT_METRICS = {"imsat_loss": "cluster", "balance_loss": "cluster", "cluster_vat_loss": "cluster",
                 "cluster_entropy": "cluster", "marginal_entropy": "cluster"}  # fmt: skip


class IMSAT(PredictorModel):
    """q(y|x) over K clusters, no decoder, no discriminator; evaluated as the clustering AAE is."""

    family, what, with_codes = "imsat", "cluster memberships", "the clustering AAE presets"
    phases: ClassVar[tuple[str, ...]] = ("cluster",)
    metrics: ClassVar[dict[str, str]] = IMSAT_METRICS
    capabilities: ClassVar[Capabilities] = Capabilities(clusters=True, codes=False)

    def __init__(self, net: ClassifierNet, terms: ClusteringConfig | None = None):
        super().__init__()
        self.net, self.terms = net, terms or ClusteringConfig()

    @classmethod
    def from_config(cls, cfg: Config, data_dim: int, n_classes: int, image_shape: Sequence[int] | None = None) -> IMSAT:
        n = cfg.network
        if n.arch != "mlp":
            raise AAEError(f"the imsat model is an MLP; network.arch={n.arch!r} is not supported")
        k = n_clusters(cfg, n_classes)
        # IMSAT's reference normalizes the hidden layers only: a batch norm on the logits would undo
        # the sharpness term (it rescales every logit to unit variance)
        net = ClassifierNet(data_dim, k, n.hidden, n.batchnorm, False, n.dropout, n.input_noise, n.input_dropout)
        return initialized(cls(net, cfg.clustering), cfg)

    @classmethod
    def check_config(cls, cfg: Config) -> None:
        c = cfg.clustering
        if c.vat_weight == 0 and c.balance_weight == 0:
            raise AAEError("the imsat model trains on clustering.vat_weight and clustering.balance_weight; "
                           "both are 0, so it would learn nothing (IMSAT: 1 and 0.4)")  # fmt: skip

    def phase_parameters(self) -> dict[str, list[nn.Parameter]]:
        return {"cluster": list(self.net.parameters())}

    def neighbour_rank(self) -> int:
        return self.terms.vat_neighbour if self.terms.vat_weight > 0 else 0

    def train_step(self, x, y, optimizers, generator=None, amp: Amp = nullcontext, labeled=None, radius=None):
        """One unlabeled mini-batch ``x`` ``(n, d)`` (``y`` unused); ``radius`` ``(n,)`` with ``vat_neighbour``."""
        c = self.terms
        with amp():
            q = torch.softmax(self.net(x, generator).float(), 1)
            loss = balance = balance_cost(q, c.balance_weight, c.sharpness_weight)
            out = {"balance_loss": balance.detach()}
            if c.vat_weight > 0:
                eps: float | torch.Tensor = c.vat_eps
                if c.vat_neighbour:
                    if radius is None or radius.shape != (len(x),):
                        raise AAEError(f"clustering.vat_neighbour={c.vat_neighbour}: train_step needs radius, one "
                                       f"distance per example ({len(x)})")  # fmt: skip
                    eps = c.vat_eps * radius.to(torch.float32)[:, None]
                with frozen_batchnorm_stats(self.net), no_dropout(self.net):
                    smooth = vat_loss(self.logits, x, eps, c.vat_xi, generator)
                loss = loss + c.vat_weight * smooth
                out["cluster_vat_loss"] = smooth.detach()
        optimizers["cluster"].zero_grad(set_to_none=True)
        loss.backward()
        optimizers["cluster"].step()
        with torch.no_grad():
            log_q = torch.log(q.detach().clamp_min(1e-12))
            mean = q.detach().mean(0)
            out["cluster_entropy"] = -(q.detach() * log_q).sum(1).mean()
            out["marginal_entropy"] = -(mean * torch.log(mean.clamp_min(1e-12))).sum()
        return {"imsat_loss": loss.detach(), **out}


#: this family's models by Config.model name (aae.models registers them)
MODELS = {"imsat": IMSAT}
