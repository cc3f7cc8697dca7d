"""The shared form of the models with a categorical code y and a style z (paper §5-7).

The encoder q(y, z | x) has a softmax head y and a style head z; one discriminator imposes a
categorical distribution on y, another the style prior on z; the decoder reconstructs from
[y, z] (or from W_C·y + z, :mod:`aae.models.dimred.model`). With ``classify`` a fourth phase trains
q(y|x) by cross-entropy on a labeled mini-batch (semi-supervised); without, y holds K
unsupervised clusters.
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
from aae.models.base import (
    ADVERSARIAL_METRICS,
    Amp,
    Capabilities,
    LabelDecoderModel,
    adversarial_phases,
    check_every_class_labeled,
    reconstruction_loss,
    reconstruction_phase,
)
from aae.models.build import build_decoder, build_prior, initialized
from aae.models.classifier_terms import (
    balance_cost,
    frozen_batchnorm_stats,
    labeled_shape,
    mean_entropy,
    mixup,
    no_dropout,
    shift_labeled,
    sigmoid_rampup,
    vat_loss,
)
from aae.models.clustering.config import ClusteringConfig
from aae.models.semisupervised.config import SemiSupervisedConfig
from aae.networks import CategoricalEncoder, Decoder
from aae.priors import Categorical
from aae.regularizers import AdversarialRegularizer

UNSUPERVISED_PHASES = ("recon", "disc", "gen")
SEMISUPERVISED_PHASES = ("recon", "disc", "gen", "classify")
CATEGORICAL_METRICS = {"recon_loss": "recon", **ADVERSARIAL_METRICS, "balance_loss": "gen", "cluster_vat_loss": "gen"}
CLASSIFY_METRICS = {
    "classify_loss": "classify",
    "classify_acc": "classify",
    "vat_loss": "classify",
    "entropy": "classify",
    "teacher_loss": "classify",
    "labeled_recon_loss": "recon",
}


class CategoricalAAE(LabelDecoderModel):
    """q(y, z | x) with a categorical y ``(n, K)`` and a style z ``(n, style_dim)``, each matched to its prior."""

    classify: ClassVar[bool] = False
    # where the [clustering] terms (balance, sharpness, VAT) take their step: added to the encoder's
    # adversarial cost ("gen"), or a phase of their own after it ("cluster", optimizer optim.cluster)
    terms_phase: ClassVar[str] = "gen"
    phases: ClassVar[tuple[str, ...]] = UNSUPERVISED_PHASES
    metrics: ClassVar[dict[str, str]] = CATEGORICAL_METRICS
    capabilities: ClassVar[Capabilities] = Capabilities(clusters=True, label_decoder=True, heads=True)

    def __init__(
        self,
        encoder: CategoricalEncoder,
        decoder: Decoder,
        category: AdversarialRegularizer,
        style: AdversarialRegularizer,
        recon_loss: str = "mse",
        terms: SemiSupervisedConfig | None = None,
        clusters: ClusteringConfig | None = None,
        labeled_chw: tuple[int, int, int] | None = None,
    ):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder
        self.category, self.style = category, style
        self.recon_loss = recon_loss
        # the classification phase's terms besides cross-entropy (semi-supervised variants only)
        self.terms = (terms or SemiSupervisedConfig()) if self.classify else SemiSupervisedConfig()
        self.clusters = clusters or ClusteringConfig()  # batch-level terms of the adversarial phase
        # (c, h, w) of the labeled images that terms.labeled_shift translates (None: no shift)
        self.labeled_chw = labeled_chw
        # y has K = n_categories units; class c owns units c·m .. c·m + m − 1 (m = per_class; 1 for clustering)
        self.n_categories, self.per_class = encoder.n_classes, self.terms.categories_per_class
        if self.n_categories % self.per_class:
            raise AAEError(f"{self.n_categories} categories cannot be split into groups of {self.per_class} per class")
        self.n_classes = self.n_categories // self.per_class
        self.prior = style.prior  # the style prior: what codes z are matched to

    @classmethod
    def categories_for(cls, cfg: Config, n_classes: int) -> int:
        """Size K of y for data with ``n_classes`` classes."""
        raise NotImplementedError

    @classmethod
    def decoder_inputs(cls, cfg: Config, k: int) -> int:
        return k + cfg.network.code_dim

    @classmethod
    def from_config(
        cls, cfg: Config, data_dim: int, n_classes: int, image_shape: Sequence[int] | None = None
    ) -> CategoricalAAE:
        k = cls.categories_for(cfg, n_classes)
        parts = categorical_parts(cfg, data_dim, k, cls.decoder_inputs(cfg, k), image_shape)
        chw = cls.labeled_chw_for(cfg, image_shape, data_dim)
        return initialized(cls(*parts, cfg.recon_loss, cfg.semisupervised, cfg.clustering, chw), cfg)

    @classmethod
    def labeled_chw_for(cls, cfg: Config, image_shape: Sequence[int] | None, data_dim: int):
        """``(c, h, w)`` of the labeled images ``semisupervised.labeled_shift`` moves: only a model
        with a classification phase has them (None otherwise, or with the shift off)."""
        return labeled_shape(cfg, image_shape, data_dim) if cls.classify else None

    def phase_parameters(self) -> dict[str, list[nn.Parameter]]:
        params = {
            "recon": [*self.encoder.parameters(), *self.decoder.parameters()],
            "disc": [*self.category.discriminator.parameters(), *self.style.discriminator.parameters()],
            "gen": list(self.encoder.parameters()),
        }
        if self.classify:
            params["classify"] = self.encoder.classifier_parameters()
        if self.terms_phase == "cluster":
            params["cluster"] = self.encoder.classifier_parameters()
        return params

    def check_labels(self, y: torch.Tensor) -> None:
        """Semi-supervised training needs at least one labeled example of every class."""
        if not self.classify:
            return
        check_every_class_labeled(y, self.n_classes, "semi-supervised AAE")

    def class_logits(self, logits: torch.Tensor) -> torch.Tensor:
        """Logits ``(n, C)`` of q(class|x) from the encoder's ``(n, K)``: the log-sum-exp of each
        class's m units, so that q(class|x) is the sum of its categories' probabilities."""
        if self.per_class == 1:
            return logits
        return logits.float().view(len(logits), self.n_classes, self.per_class).logsumexp(2)

    def categories(self, labels: torch.Tensor, logits: torch.Tensor | None = None) -> torch.Tensor:
        """Category indices ``(n,)`` for class ``labels`` ``(n,)``: the class's most probable unit
        under ``logits`` ``(n, K)``, or its first unit without them."""
        first = labels.long() * self.per_class
        if self.per_class == 1 or logits is None:
            return first
        own = logits.detach().float().view(len(logits), self.n_classes, self.per_class)
        return first + own[torch.arange(len(labels), device=own.device), labels.to(own.device).long()].argmax(1)

    def _decoder_input(self, logits: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.softmax(logits.float(), 1).to(z.dtype), z], 1)

    def _recon_penalty(self) -> torch.Tensor | None:
        """An extra cost of the reconstruction phase (none here; the cluster-head penalty of dimred)."""
        return None

    def neighbour_rank(self) -> int:
        """``clustering.vat_neighbour`` while its VAT term is on: the radius scales its perturbation."""
        return self.clusters.vat_neighbour if self.clusters.vat_weight > 0 else 0

    def train_step(
        self,
        x,
        y,
        optimizers,
        generator=None,
        amp: Amp = nullcontext,
        labeled=None,
        radius=None,
        teacher=None,
        epochs_done: float = 0.0,
    ):
        """One mini-batch ``x`` ``(n, d)`` (labels unused) through recon, disc, gen, and, with
        ``classify``, the classification phase on ``labeled = (x_l (m, d), y_l (m,))``.
        ``radius`` ``(n,)``: see :meth:`neighbour_rank`; ``teacher``: the weight average, a
        model of this class (or None), read by ``terms.teacher_weight``, whose ramp-up
        (``terms.teacher_rampup``) reads ``epochs_done``, the training's progress in epochs."""
        # (1) reconstruction from [softmax(y), z] (and of the labeled images from their one-hot label)
        with amp():
            logits, z = self.encoder(x, generator)
            rec = reconstruction_loss(self.decoder, self._decoder_input(logits, z), x, self.recon_loss)
            penalty = self._recon_penalty()
            rec_l = self._labeled_reconstruction(labeled, generator)
        extra = [t for t in (penalty, rec_l) if t is not None]
        reconstruction_phase(rec + sum(extra) if extra else rec, optimizers)
        # (2) regularization: categorical y and Gaussian z, both discriminators then the encoder
        with amp():
            logits, z = self.encoder(x, generator)
            y_soft = torch.softmax(logits.float(), 1)
        out = {"recon_loss": rec.detach()}
        if penalty is not None:
            out["head_penalty"] = penalty.detach()
        if rec_l is not None:
            out["labeled_recon_loss"] = rec_l.detach() / self.terms.labeled_recon
        triples = [(self.category, y_soft, None), (self.style, z, None)]
        if self.terms_phase == "gen":
            balance, smooth, extra = self._cluster_terms(x, y_soft, generator, amp, radius)
            out.update(adversarial_phases(triples, optimizers, generator, amp, extra))
        else:
            out.update(adversarial_phases(triples, optimizers, generator, amp))
            with amp():
                y_soft = torch.softmax(self.encoder(x, generator)[0].float(), 1)
            balance, smooth, extra = self._cluster_terms(x, y_soft, generator, amp, radius)
            if extra is not None:
                optimizers["cluster"].zero_grad(set_to_none=True)
                extra.backward()
                optimizers["cluster"].step()
        if balance is not None:
            out["balance_loss"] = balance.detach()
        if smooth is not None:
            out["cluster_vat_loss"] = smooth.detach() / self.clusters.vat_weight
        if self.classify:
            out.update(self._classification(x, labeled, optimizers, generator, amp, teacher, epochs_done))
        return out

    def _cluster_terms(self, x, y_soft, generator, amp: Amp, radius):
        """(balance, smoothness, their sum) of the ``[clustering]`` terms on the mini-batch ``x``
        with memberships ``y_soft`` ``(n, K)``; each None when off."""
        balance = self._balance(y_soft)
        with amp():
            smooth = self._cluster_vat(x, generator, radius)
        extra = [t for t in (balance, smooth) if t is not None]
        return balance, smooth, sum(extra) if extra else None

    def _balance(self, y_soft: torch.Tensor) -> torch.Tensor | None:
        """The batch-level terms of ``clustering`` (or None): ``balance_weight`` × (log K − H(mean_batch q(y|x)))
        keeps every cluster in use (as CatGAN and IMSAT do), ``sharpness_weight`` × the mean H(q(y|x))
        makes each assignment confident. Both in nats, 0 at their optimum."""
        c = self.clusters
        if c.balance_weight == 0 and c.sharpness_weight == 0:
            return None
        return balance_cost(y_soft, c.balance_weight, c.sharpness_weight)

    def _cluster_vat(self, x: torch.Tensor, generator, radius: torch.Tensor | None) -> torch.Tensor | None:
        """``clustering.vat_weight`` × virtual adversarial training of q(y|x) on the mini-batch ``x``
        (or None): IMSAT's smoothness, which makes clusters follow the data's neighbourhoods rather
        than whatever splits the reconstruction finds easiest. Batch-norm statistics frozen. The
        perturbation's norm is ``vat_eps``, or ``vat_eps`` × ``radius`` ``(n,)`` with ``vat_neighbour``;
        the power iteration's step ``vat_xi``."""
        c = self.clusters
        if c.vat_weight == 0:
            return None
        eps: float | torch.Tensor = c.vat_eps
        if c.vat_neighbour:
            if radius is None or radius.shape != (len(x),):
                raise AAEError(
                    f"clustering.vat_neighbour={c.vat_neighbour}: train_step needs radius, one distance per example "
                    f"({len(x)}), got {None if radius is None else tuple(radius.shape)}"
                )
            eps = c.vat_eps * radius.to(torch.float32)[:, None]
        return c.vat_weight * self._vat(x, eps, c.vat_xi, generator)

    def _vat(self, x: torch.Tensor, eps: float | torch.Tensor, xi: float, generator) -> torch.Tensor:
        """VAT of q(y|x) on ``x`` through deterministic passes (no input noise, no dropout), batch
        norm normalizing with the batch but leaving its running statistics alone."""
        with frozen_batchnorm_stats(self.encoder), no_dropout(self.encoder):
            return vat_loss(lambda v: self.class_logits(self.encoder(v, noise=False)[0]), x, eps, xi, generator)

    def _labeled_reconstruction(self, labeled, generator) -> torch.Tensor | None:
        """``terms.labeled_recon`` × the cost of reconstructing x_l from [one-hot y_l, z(x_l)] (or None);
        with several categories per class, y_l's most probable one."""
        if not (self.classify and self.terms.labeled_recon > 0 and labeled is not None):
            return None
        xl, yl = labeled
        with self._labeled_pass():
            logits_l, zl = self.encoder(xl, generator)
        y = F.one_hot(self.categories(yl, logits_l), self.n_categories).to(zl.dtype)
        return self.terms.labeled_recon * reconstruction_loss(
            self.decoder, self._one_hot_input(y, zl), xl, self.recon_loss
        )

    def _one_hot_input(self, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """The decoder's input for a given (one-hot or soft) y ``(n, K)`` and style z."""
        return torch.cat([y, z], 1)

    def _labeled_pass(self):
        """Batch norm on the labeled mini-batch: its running statistics follow it (the paper's
        training) or not (``terms.labeled_bn_stats = false``)."""
        return nullcontext() if self.terms.labeled_bn_stats else frozen_batchnorm_stats(self.encoder)

    def _classification(
        self, x, labeled, optimizers, generator, amp: Amp, teacher=None, epochs_done: float = 0.0
    ) -> dict[str, torch.Tensor]:
        """(3) semi-supervised classification: cross-entropy of q(y|x_l) on the labels y_l (smoothed
        by ``terms.label_smoothing``; on mixed images and targets with ``terms.labeled_mixup``),
        plus the optional VAT, entropy and mean-teacher terms on the unlabeled mini-batch ``x``
        (the last weighted by its ramp-up at ``epochs_done``)."""
        if labeled is None:
            raise AAEError("the semi-supervised model's train_step needs a labeled mini-batch (labeled=(x, y))")
        if self.terms.teacher_weight > 0 and teacher is None:
            raise AAEError("semisupervised.teacher_weight needs the weight average as its teacher: set ema > 0")
        xl, yl = labeled
        t = self.terms
        target = yl
        xl = shift_labeled(xl, self.labeled_chw, t.labeled_shift, generator)
        if t.labeled_mixup > 0:
            xl, target = mixup(xl, F.one_hot(yl, self.n_classes).float(), t.labeled_mixup, generator)
            yl = target.argmax(1)  # the accuracy reported: against each mixed image's larger share
        out = {}
        with amp():
            with self._labeled_pass():
                logits_l = self.class_logits(self.encoder(xl, generator)[0])
            loss = ce = F.cross_entropy(logits_l.float(), target, label_smoothing=t.label_smoothing)
            with frozen_batchnorm_stats(self.encoder):
                if t.vat_weight > 0:
                    out["vat_loss"] = self._vat(x, t.vat_eps, t.vat_xi, generator)
                    loss = loss + t.vat_weight * out["vat_loss"]
                if t.entmin_weight > 0 or t.teacher_weight > 0:
                    logits_u = self.class_logits(self.encoder(x, generator)[0])
                if t.entmin_weight > 0:
                    out["entropy"] = mean_entropy(logits_u)
                    loss = loss + t.entmin_weight * out["entropy"]
                if t.teacher_weight > 0:
                    out["teacher_loss"] = self._teacher_distance(logits_u, teacher, x)
                    weight = t.teacher_weight * sigmoid_rampup(epochs_done, t.teacher_rampup)
                    loss = loss + weight * out["teacher_loss"]
        optimizers["classify"].zero_grad(set_to_none=True)
        loss.backward()
        optimizers["classify"].step()
        out = {k: v.detach() for k, v in out.items()}
        return {"classify_loss": ce.detach(), "classify_acc": (logits_l.detach().argmax(1) == yl).float().mean(), **out}

    @staticmethod
    def _teacher_distance(logits_u: torch.Tensor, teacher: CategoricalAAE, x: torch.Tensor) -> torch.Tensor:
        """Mean over the batch of |q(y|x) − q_teacher(y|x)|² (class probabilities), the student's
        ``logits_u`` ``(n, C)`` from its noisy pass, the teacher's a clean, deterministic pass that
        normalizes with the batch and moves no statistics of its own."""
        with torch.no_grad(), frozen_batchnorm_stats(teacher.encoder), no_dropout(teacher.encoder):
            target = torch.softmax(teacher.class_logits(teacher.encoder(x, noise=False)[0]).float(), 1)
        return (torch.softmax(logits_u.float(), 1) - target).pow(2).sum(1).mean()

    @torch.no_grad()
    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """q(y | x): ``(n, C)`` class probabilities (``(n, K)`` cluster memberships when unsupervised)."""
        logits, _ = self.encoder(x)
        return torch.softmax(self.class_logits(logits).float(), 1)

    @torch.no_grad()
    def encode(self, x: torch.Tensor, generator: torch.Generator | None = None, sample: bool = True) -> torch.Tensor:
        """Style codes z ``(n, style_dim)``."""
        return self.encoder(x, generator)[1]

    @torch.no_grad()
    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Images ``(n, d)`` of class / cluster ``labels`` ``(n,)`` (one-hot y; a class's first
        category) in styles ``z``."""
        if labels is None:
            raise AAEError(f"the {type(self).__name__} decodes a style with a class: pass labels")
        y = F.one_hot(self.categories(labels.to(z.device)), self.n_categories).to(z.dtype)
        return self.decoder(self._one_hot_input(y, z))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Reconstruction from the encoder's own [softmax(y), z]; ``y`` is not used."""
        logits, z = self.encoder(x)
        return self.decoder(self._decoder_input(logits, z))

    @torch.no_grad()
    def heads(self) -> torch.Tensor:
        """The image of each class / cluster with style z = 0 (cluster heads, Fig. 9): ``(K, d)``."""
        k = self.n_classes
        z = torch.zeros(k, self.prior.dim, device=self.device)
        return self.decode(z, torch.arange(k))


def categorical_parts(
    cfg: Config, data_dim: int, k: int, decoder_in: int, image_shape: Sequence[int] | None
) -> tuple[CategoricalEncoder, Decoder, AdversarialRegularizer, AdversarialRegularizer]:
    """Encoder q(y, z | x) with ``k`` categories, decoder from ``decoder_in`` inputs, and the
    categorical and style regularizers."""
    net = cfg.network
    encoder = CategoricalEncoder(data_dim, k, net, image_shape, cfg.data.standardize)
    decoder = build_decoder(cfg, decoder_in, data_dim, image_shape)
    category = AdversarialRegularizer(Categorical(k), k, net.disc_hidden, input_noise=net.disc_noise)
    style = AdversarialRegularizer(build_prior(cfg), net.code_dim, net.disc_hidden, input_noise=net.disc_noise)
    return encoder, decoder, category, style


def one_per_class(cfg: Config, n_classes: int) -> int:
    """Size of y for a semi-supervised model: ``semisupervised.categories_per_class`` softmax
    units per class (checked)."""
    if n_classes < 2:
        raise AAEError(f"the {cfg.model} model needs a labeled data set with at least 2 classes")
    k, m = cfg.network.n_clusters, cfg.semisupervised.categories_per_class
    if k and k != n_classes * m:
        raise AAEError(
            f"network.n_clusters={k} but the semi-supervised model has {m} output(s) per class "
            f"({n_classes * m}); leave it 0 (semisupervised.categories_per_class sets it), or use an "
            "unsupervised (clustering) model"
        )
    return n_classes * m


def n_clusters(cfg: Config, n_classes: int) -> int:
    """Size of y for an unsupervised model: ``network.n_clusters`` (checked)."""
    k = cfg.network.n_clusters
    if k < 2:
        raise AAEError(f"the {cfg.model} model needs network.n_clusters >= 2, got {k}")
    if n_classes and k < n_classes:
        raise AAEError(
            f"network.n_clusters={k} is fewer than the {n_classes} classes: the cluster-to-label "
            "evaluation (each cluster takes one label) could never name every class"
        )
    return k
