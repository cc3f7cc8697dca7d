"""AAEs that use labels or learn classes (paper §4-6).

- :class:`SupervisedAAE` (Fig. 6): the decoder receives the one-hot label and the code z;
  the adversarial phase gives z a prior, so z learns the style and the label the content.
- :class:`SemiSupervisedAAE` (Fig. 8): the encoder q(y, z | x) has a softmax head y and a
  style head z; one discriminator imposes a categorical distribution on y, another a
  Gaussian on z; the decoder reconstructs from [y, z]. With ``classify=True`` a fourth
  phase trains q(y|x) on a labeled mini-batch (semi-supervised classification, Table 2);
  with ``classify=False`` y holds K unsupervised clusters (Fig. 9, Table 3).

Both follow the phase contract of ``aae.models`` and register themselves in ``MODELS``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext

import torch
import torch.nn.functional as F
from torch import nn

from aae.config import Config
from aae.errors import AAEError
from aae.models import (
    MODELS,
    adversarial_phases,
    build_encoder_decoder,
    build_prior,
    network_kwargs,
    reconstruction_loss,
)
from aae.networks import CategoricalEncoder, Decoder, Encoder, init_normal_
from aae.priors import Categorical, Prior
from aae.regularizers import AdversarialRegularizer


def _check_class_labels(y: torch.Tensor, n_classes: int, what: str) -> None:
    """Labels must be -1 (unlabeled) or in 0..n_classes-1."""
    bad = (y < -1) | (y >= n_classes)
    if bool(bad.any()):
        raise AAEError(f"{what}: label {int(y[bad][0])} is outside 0..{n_classes - 1} (-1 marks an unlabeled example)")


class SupervisedAAE(nn.Module):
    """Style / content disentangling (paper §4, Fig. 6).

    ``encoder``: x -> style z ``(n, style_dim)``; ``decoder``: [one-hot y, z] -> x; the
    regularizer matches q(z) to its prior. Every training example needs a label.
    """

    def __init__(
        self,
        encoder: Encoder,
        decoder: Decoder,
        regularizer: AdversarialRegularizer,
        n_classes: int,
        recon_loss: str = "mse",
    ):
        super().__init__()
        self.encoder, self.decoder, self.regularizer = encoder, decoder, regularizer
        self.n_classes, self.recon_loss = n_classes, recon_loss
        self.prior: Prior = regularizer.prior

    phases = ("recon", "disc", "gen")

    def phase_parameters(self) -> dict[str, list[nn.Parameter]]:
        return {
            "recon": [*self.encoder.parameters(), *self.decoder.parameters()],
            "disc": list(self.regularizer.discriminator.parameters()),
            "gen": list(self.encoder.parameters()),
        }

    def check_labels(self, y: torch.Tensor) -> None:
        """Refuse training labels the model cannot use: it needs every example labeled."""
        _check_class_labels(y, self.n_classes, "supervised AAE")
        n_missing = int((y < 0).sum())
        if n_missing:
            raise AAEError(
                f"the supervised AAE needs every training example labeled; {n_missing} are not "
                "(use data.n_labeled=-1, or the semisupervised model)"
            )

    def _decoder_input(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.cat([F.one_hot(y, self.n_classes).to(z.dtype), z], 1)

    def train_step(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        optimizers: dict[str, torch.optim.Optimizer],
        generator: torch.Generator | None = None,
        amp: Callable[[], AbstractContextManager] = nullcontext,
    ) -> dict[str, torch.Tensor]:
        """One labeled mini-batch (``x`` ``(n, d)``, ``y`` ``(n,)``) through recon, disc, gen."""
        with amp():
            z = self.encoder(x, generator)
            rec = reconstruction_loss(self.decoder, self._decoder_input(z, y), x, self.recon_loss)
        optimizers["recon"].zero_grad(set_to_none=True)
        rec.backward()
        optimizers["recon"].step()
        with amp():
            z = self.encoder(x, generator)
        return {
            "recon_loss": rec.detach(),
            **adversarial_phases([(self.regularizer, z, None)], optimizers, generator, amp),
        }

    @torch.no_grad()
    def encode(self, x: torch.Tensor, generator: torch.Generator | None = None, sample: bool = True) -> torch.Tensor:
        """Style codes ``(n, style_dim)``."""
        return self.encoder(x, generator, sample=sample)

    @torch.no_grad()
    def decode(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Images ``(n, d)`` of classes ``labels`` ``(n,)`` in styles ``z`` ``(n, style_dim)``."""
        return self.decoder(self._decoder_input(z, labels.to(z.device).long()))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if y is None:
            raise AAEError("the supervised AAE reconstructs from the style and the label: pass labels y")
        return self.decode(self.encoder(x, sample=False), y)

    @torch.no_grad()
    def sample(
        self, n: int, generator: torch.Generator | None = None, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``n`` images ``(n, d)`` of classes ``labels`` (uniformly drawn when None) in prior styles."""
        z = self.prior.sample(n, generator).to(self.device)
        if labels is None:
            labels = torch.randint(0, self.n_classes, (n,), generator=generator)
        return self.decode(z, labels)

    @property
    def sample_classes(self) -> int:
        return self.n_classes

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device


class SemiSupervisedAAE(nn.Module):
    """q(y, z | x) with a categorical y and a style z, each matched to its prior (paper §5-6).

    ``classify=True``: semi-supervised classification, with the phase ``classify`` that
    trains q(y|x) by cross-entropy on a labeled mini-batch (``train_step(..., labeled=(x, y))``).
    ``classify=False``: unsupervised clustering into ``encoder.n_classes`` clusters.
    """

    def __init__(
        self,
        encoder: CategoricalEncoder,
        decoder: Decoder,
        category: AdversarialRegularizer,
        style: AdversarialRegularizer,
        recon_loss: str = "mse",
        classify: bool = True,
    ):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder
        self.category, self.style = category, style
        self.recon_loss, self.classify = recon_loss, classify
        self.n_classes = encoder.n_classes
        self.prior: Prior = style.prior  # the style prior: what codes z are matched to

    @property
    def phases(self) -> tuple[str, ...]:
        return ("recon", "disc", "gen", "classify") if self.classify else ("recon", "disc", "gen")

    @property
    def needs_labeled_batch(self) -> bool:
        """The trainer passes ``labeled=(x, y)`` mini-batches of labeled examples to ``train_step``."""
        return self.classify

    def phase_parameters(self) -> dict[str, list[nn.Parameter]]:
        params = {
            "recon": [*self.encoder.parameters(), *self.decoder.parameters()],
            "disc": [*self.category.discriminator.parameters(), *self.style.discriminator.parameters()],
            "gen": list(self.encoder.parameters()),
        }
        if self.classify:
            params["classify"] = self.encoder.classifier_parameters()
        return params

    def check_labels(self, y: torch.Tensor) -> None:
        """Semi-supervised training needs at least one labeled example of every class."""
        if not self.classify:
            return
        _check_class_labels(y, self.n_classes, "semi-supervised AAE")
        counts = torch.bincount(y[y >= 0].cpu(), minlength=self.n_classes)
        missing = (counts == 0).nonzero().squeeze(1).tolist()
        if missing:
            raise AAEError(
                f"class(es) {missing} have no labeled training example; the classifier could never learn them"
            )

    def _decoder_input(self, logits: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.softmax(logits.float(), 1).to(z.dtype), z], 1)

    def _recon_penalty(self) -> torch.Tensor | None:
        """An extra cost of the reconstruction phase (none here; the cluster-head penalty of dimred)."""
        return None

    def train_step(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        optimizers: dict[str, torch.optim.Optimizer],
        generator: torch.Generator | None = None,
        amp: Callable[[], AbstractContextManager] = nullcontext,
        labeled: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> dict[str, torch.Tensor]:
        """One mini-batch ``x`` ``(n, d)`` (labels unused) through recon, disc, gen, and, for the
        semi-supervised model, ``classify`` on ``labeled = (x_l (m, d), y_l (m,))``."""
        # (1) reconstruction from [softmax(y), z]
        with amp():
            logits, z = self.encoder(x, generator)
            rec = reconstruction_loss(self.decoder, self._decoder_input(logits, z), x, self.recon_loss)
            penalty = self._recon_penalty()
        optimizers["recon"].zero_grad(set_to_none=True)
        (rec if penalty is None else rec + penalty).backward()
        optimizers["recon"].step()
        # (2) regularization: categorical y and Gaussian z, both discriminators then the encoder
        with amp():
            logits, z = self.encoder(x, generator)
            y_soft = torch.softmax(logits.float(), 1)
        out = {"recon_loss": rec.detach()}
        if penalty is not None:
            out["head_penalty"] = penalty.detach()
        out.update(
            adversarial_phases([(self.category, y_soft, None), (self.style, z, None)], optimizers, generator, amp)
        )
        if not self.classify:
            return out
        # (3) semi-supervised classification on a labeled mini-batch
        if labeled is None:
            raise AAEError("the semi-supervised model's train_step needs a labeled mini-batch (labeled=(x, y))")
        xl, yl = labeled
        with amp():
            logits_l, _ = self.encoder(xl, generator)
            ce = F.cross_entropy(logits_l.float(), yl)
        optimizers["classify"].zero_grad(set_to_none=True)
        ce.backward()
        optimizers["classify"].step()
        out["classify_loss"] = ce.detach()
        out["classify_acc"] = (logits_l.detach().argmax(1) == yl).float().mean()
        return out

    @torch.no_grad()
    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """q(y | x): ``(n, n_classes)`` probabilities (cluster memberships when unsupervised)."""
        logits, _ = self.encoder(x)
        return torch.softmax(logits.float(), 1)

    @torch.no_grad()
    def encode(self, x: torch.Tensor, generator: torch.Generator | None = None, sample: bool = True) -> torch.Tensor:
        """Style codes z ``(n, style_dim)``."""
        return self.encoder(x, generator)[1]

    @torch.no_grad()
    def decode(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Images ``(n, d)`` of class / cluster ``labels`` ``(n,)`` (one-hot y) in styles ``z``."""
        y = F.one_hot(labels.to(z.device).long(), self.n_classes).to(z.dtype)
        return self.decoder(torch.cat([y, z], 1))

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

    @torch.no_grad()
    def sample(
        self, n: int, generator: torch.Generator | None = None, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``n`` images: y one-hot of ``labels`` (drawn uniformly when None), z from the style prior."""
        z = self.prior.sample(n, generator).to(self.device)
        if labels is None:
            labels = torch.randint(0, self.n_classes, (n,), generator=generator)
        return self.decode(z, labels)

    @property
    def sample_classes(self) -> int:
        return self.n_classes

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device


class DimensionalityReductionAAE(SemiSupervisedAAE):
    """Dimensionality reduction with cluster heads (paper §7, Fig. 10).

    The n-D representation is r = W_C·y + z: ``cluster_heads`` W_C ``(K, n)`` holds one head per
    class / cluster, y = softmax of the encoder's class head, z the n-D style. The decoder
    reconstructs from r. Learned heads (``learn_heads``) are trained in the reconstruction
    phase with a penalty Σ_{i<j} max(0, η - |W_i - W_j|) that pushes every two heads at least
    η = ``head_margin`` apart; fixed heads (e.g. 10·I) are a buffer.
    """

    def __init__(
        self,
        encoder: CategoricalEncoder,
        decoder: Decoder,
        category: AdversarialRegularizer,
        style: AdversarialRegularizer,
        heads: torch.Tensor,
        learn_heads: bool = True,
        head_margin: float = 6.0,
        head_weight: float = 1.0,
        recon_loss: str = "mse",
        classify: bool = True,
    ):
        super().__init__(encoder, decoder, category, style, recon_loss, classify)
        if learn_heads:
            self.cluster_heads = nn.Parameter(heads.clone())
        else:
            self.register_buffer("cluster_heads", heads.clone())
        self.learn_heads, self.head_margin, self.head_weight = learn_heads, head_margin, head_weight

    def phase_parameters(self) -> dict[str, list[nn.Parameter]]:
        params = super().phase_parameters()
        if self.learn_heads:
            params["recon"].append(self.cluster_heads)
        return params

    def _decoder_input(self, logits: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        y = torch.softmax(logits.float(), 1).to(z.dtype)
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
    def decode(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Images ``(m, d)`` of cluster ``labels`` ``(m,)`` (head W_C[label]) in styles ``z``."""
        return self.decoder(self.cluster_heads[labels.to(z.device).long()].to(z.dtype) + z)


def build_supervised(
    cfg: Config, data_dim: int, n_classes: int, image_shape: Sequence[int] | None = None
) -> SupervisedAAE:
    """A :class:`SupervisedAAE`: ``network.code_dim`` is the style size, ``prior`` its prior."""
    if n_classes < 1:
        raise AAEError("the supervised AAE needs a labeled data set (the decoder receives the label)")
    net = cfg.network
    prior = build_prior(cfg)
    encoder, decoder = build_encoder_decoder(cfg, data_dim, net.code_dim + n_classes, image_shape)
    regularizer = AdversarialRegularizer(prior, net.code_dim, net.disc_hidden, input_noise=net.disc_noise)
    model = SupervisedAAE(encoder, decoder, regularizer, n_classes, cfg.recon_loss)
    if net.init_std > 0:
        init_normal_(model, net.init_std)
    return model


def _build_categorical(
    cfg: Config,
    data_dim: int,
    k: int,
    classify: bool,
    dimred: bool = False,
    image_shape: Sequence[int] | None = None,
) -> SemiSupervisedAAE:
    net = cfg.network
    style_prior = build_prior(cfg)
    arch = network_kwargs(cfg, image_shape)
    encoder = CategoricalEncoder(
        data_dim, k, net.code_dim, net.hidden, net.dropout, net.batchnorm, net.input_noise, **arch
    )
    decoder_in = net.code_dim if dimred else k + net.code_dim
    decoder = Decoder(decoder_in, data_dim, list(reversed(net.hidden)), net.output, batchnorm=net.batchnorm, **arch)
    category = AdversarialRegularizer(Categorical(k), k, net.disc_hidden, input_noise=net.disc_noise)
    style = AdversarialRegularizer(style_prior, net.code_dim, net.disc_hidden, input_noise=net.disc_noise)
    if dimred:
        heads, learn = _initial_heads(cfg, k)
        model: SemiSupervisedAAE = DimensionalityReductionAAE(
            encoder, decoder, category, style, heads, learn, net.head_margin, net.head_weight, cfg.recon_loss, classify
        )
    else:
        model = SemiSupervisedAAE(encoder, decoder, category, style, cfg.recon_loss, classify)
    if net.init_std > 0:
        init_normal_(model, net.init_std)
    return model


def _semisupervised_classes(cfg: Config, n_classes: int) -> int:
    """Size of y for a semi-supervised model: one softmax unit per class (checked)."""
    if n_classes < 2:
        raise AAEError(f"the {cfg.model} model needs a labeled data set with at least 2 classes")
    k = cfg.network.n_clusters
    if k and k != n_classes:
        raise AAEError(
            f"network.n_clusters={k} but the semi-supervised model has one output per class ({n_classes}); "
            "leave it 0, or use an unsupervised (clustering) model"
        )
    return n_classes


def _clusters(cfg: Config, n_classes: int) -> int:
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


def build_semisupervised(
    cfg: Config, data_dim: int, n_classes: int, image_shape: Sequence[int] | None = None
) -> SemiSupervisedAAE:
    """A semi-supervised :class:`SemiSupervisedAAE` with one softmax unit per class."""
    return _build_categorical(cfg, data_dim, _semisupervised_classes(cfg, n_classes), True, image_shape=image_shape)


def build_clustering(
    cfg: Config, data_dim: int, n_classes: int, image_shape: Sequence[int] | None = None
) -> SemiSupervisedAAE:
    """An unsupervised :class:`SemiSupervisedAAE` with ``network.n_clusters`` clusters."""
    return _build_categorical(cfg, data_dim, _clusters(cfg, n_classes), False, image_shape=image_shape)


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


def _initial_heads(cfg: Config, k: int) -> tuple[torch.Tensor, bool]:
    """(W_C ``(k, code_dim)``, learned?) as ``network.heads`` says."""
    net = cfg.network
    if net.heads == "identity":
        if net.code_dim != k:
            raise AAEError(
                f"network.heads='identity' needs network.code_dim equal to the {k} clusters, got {net.code_dim}"
            )
        return net.head_scale * torch.eye(k), False
    if net.heads == "learned":
        if net.head_margin <= 0:
            raise AAEError(f"network.head_margin must be > 0, got {net.head_margin}")
        return spread_heads(k, net.code_dim, 1.5 * net.head_margin), True
    raise AAEError(f"unknown network.heads {net.heads!r}; choose 'learned' or 'identity'")


def build_dimred(
    cfg: Config, data_dim: int, n_classes: int, image_shape: Sequence[int] | None = None
) -> SemiSupervisedAAE:
    """A semi-supervised :class:`DimensionalityReductionAAE` (one cluster head per class)."""
    return _build_categorical(
        cfg, data_dim, _semisupervised_classes(cfg, n_classes), True, dimred=True, image_shape=image_shape
    )


def build_dimred_clustering(
    cfg: Config, data_dim: int, n_classes: int, image_shape: Sequence[int] | None = None
) -> SemiSupervisedAAE:
    """An unsupervised :class:`DimensionalityReductionAAE` with ``network.n_clusters`` heads."""
    return _build_categorical(cfg, data_dim, _clusters(cfg, n_classes), False, dimred=True, image_shape=image_shape)


MODELS.update(
    supervised=build_supervised,
    semisupervised=build_semisupervised,
    clustering=build_clustering,
    dimred=build_dimred,
    **{"dimred-clustering": build_dimred_clustering},
)
