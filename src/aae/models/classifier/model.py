"""``VATClassifier``: cross-entropy + VAT in one optimizer step, no decoder, no discriminator.

The network is an MLP ``data_dim -> network.hidden -> classes`` with batch norm on every hidden
layer (``network.batchnorm``) and, as in the VAT reference, on the logits too. The terms come
from the same table (``semisupervised``) and the same functions (``classifier_terms``) as the
semi-supervised AAE's classification phase, so a recipe found here carries over unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from aae.config import Config
from aae.errors import AAEError
from aae.models.base import Amp, Capabilities, PredictorModel, check_every_class_labeled
from aae.models.build import initialized
from aae.models.classifier_terms import (
    frozen_batchnorm_stats,
    labeled_shape,
    mean_entropy,
    no_dropout,
    shift_labeled,
    vat_loss,
)
from aae.models.semisupervised.config import SemiSupervisedConfig
from aae.networks import corrupt, mlp, shift_images, shift_shape

CLASSIFIER_METRICS = {"classify_loss": "classify", "classify_acc": "classify", "vat_loss": "classify",
                      "entropy": "classify"}  # fmt: skip


class ClassifierNet(nn.Module):
    """``x (n, d) -> logits (n, K)``: an MLP with batch norm on every hidden layer (``batchnorm``)
    and on the logits (``logit_bn``); input noise / dropout, and translations of images by up to
    ``input_shift`` pixels (``shift_chw`` their shape, set when either shift is on), only in
    training passes with ``noise``."""

    def __init__(
        self,
        data_dim: int,
        n_classes: int,
        hidden: Sequence[int],
        batchnorm: bool = True,
        logit_bn: bool = True,
        dropout: float = 0.0,
        input_noise: float = 0.0,
        input_dropout: float = 0.0,
        input_shift: int = 0,
        shift_chw: tuple[int, int, int] | None = None,
    ):
        super().__init__()
        if not hidden:
            raise AAEError("the classifier needs at least one hidden layer (network.hidden)")
        self.net = mlp(data_dim, hidden, n_classes, dropout=dropout, batchnorm=batchnorm)
        if logit_bn:
            self.net.append(nn.BatchNorm1d(n_classes))
        self.input_noise, self.input_dropout = input_noise, input_dropout
        self.input_shift, self.shift_chw = input_shift, shift_chw

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None, noise: bool = True) -> torch.Tensor:
        if self.training and noise:
            x = shift_images(x, self.shift_chw, self.input_shift, generator)
            x = corrupt(x, self.input_noise, generator, self.input_dropout)
        return self.net(x)


class VATClassifier(PredictorModel):
    """q(y|x) alone: one ``classify`` step per mini-batch on cross-entropy of the labeled batch
    (``labeled``) + ``vat_weight`` × VAT + ``entmin_weight`` × entropy on the unlabeled batch ``x``.

    Batch norm's running statistics follow the labeled batch (``semisupervised.labeled_bn_stats``,
    the default) or, with it off, a clean pass of the unlabeled batch: the VAT reference trains
    with the labeled batch's and recomputes them over the unlabeled pool after training; following
    the unlabeled batches gives nearly that at every epoch, so the validation curve reads the
    network as it will be evaluated. The VAT and entropy passes never move them.
    """

    family, what, with_codes = "classifier", "q(y|x)", "the semi-supervised AAE presets"
    phases: ClassVar[tuple[str, ...]] = ("classify",)
    metrics: ClassVar[dict[str, str]] = CLASSIFIER_METRICS
    capabilities: ClassVar[Capabilities] = Capabilities(classes=True, labeled_batch=True, codes=False)

    def __init__(self, net: ClassifierNet, n_classes: int, terms: SemiSupervisedConfig | None = None):
        super().__init__()
        self.net, self.n_classes = net, n_classes
        self.terms = terms or SemiSupervisedConfig()

    @classmethod
    def from_config(
        cls, cfg: Config, data_dim: int, n_classes: int, image_shape: Sequence[int] | None = None
    ) -> VATClassifier:
        if n_classes < 2:
            raise AAEError("the classifier model needs a labeled data set with at least 2 classes")
        n = cfg.network
        if n.arch != "mlp":
            raise AAEError(f"the classifier model is an MLP; network.arch={n.arch!r} is not supported")
        # each refuses a shift of data that are no images; both give the images' (c, h, w) when on
        shifts = shift_shape(n.input_shift, image_shape, data_dim), labeled_shape(cfg, image_shape, data_dim)
        net = ClassifierNet(data_dim, n_classes, n.hidden, n.batchnorm, n.batchnorm, n.dropout, n.input_noise,
                            n.input_dropout, n.input_shift, shifts[0] or shifts[1])  # fmt: skip
        return initialized(cls(net, n_classes, cfg.semisupervised), cfg)

    def phase_parameters(self) -> dict[str, list[nn.Parameter]]:
        return {"classify": list(self.net.parameters())}

    def check_labels(self, y: torch.Tensor) -> None:
        check_every_class_labeled(y, self.n_classes, "classifier")

    def train_step(self, x, y, optimizers, generator=None, amp: Amp = nullcontext, labeled=None):
        """Unlabeled ``x`` ``(n, d)`` (``y`` unused) and ``labeled = (x_l (m, d), y_l (m,))``: one step."""
        if labeled is None:
            raise AAEError("the classifier's train_step needs a labeled mini-batch (labeled=(x, y))")
        xl, yl = labeled
        t, out = self.terms, {}
        xl = shift_labeled(xl, self.net.shift_chw, t.labeled_shift, generator)
        with amp():
            stats = nullcontext() if t.labeled_bn_stats else frozen_batchnorm_stats(self.net)
            with stats:
                logits_l = self.net(xl, generator)
            loss = ce = F.cross_entropy(logits_l.float(), yl, label_smoothing=t.label_smoothing)
            if not t.labeled_bn_stats:
                with torch.no_grad(), no_dropout(self.net):
                    self.logits(x)  # the running statistics follow the unlabeled data
            with frozen_batchnorm_stats(self.net):
                if t.vat_weight > 0:
                    with no_dropout(self.net):
                        out["vat_loss"] = vat_loss(self.logits, x, t.vat_eps, t.vat_xi, generator)
                    loss = loss + t.vat_weight * out["vat_loss"]
                if t.entmin_weight > 0:
                    out["entropy"] = mean_entropy(self.net(x, generator))
                    loss = loss + t.entmin_weight * out["entropy"]
        optimizers["classify"].zero_grad(set_to_none=True)
        loss.backward()
        optimizers["classify"].step()
        out = {k: v.detach() for k, v in out.items()}
        return {"classify_loss": ce.detach(), "classify_acc": (logits_l.detach().argmax(1) == yl).float().mean(), **out}


#: this family's models by Config.model name (aae.models registers them)
MODELS = {"classifier": VATClassifier}
