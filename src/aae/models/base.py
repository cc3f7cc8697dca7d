"""The model contract: what the trainer, run directories, figures and the report may ask of a model.

A model is an ``nn.Module`` that owns its networks and prior and declares, as class attributes:

- ``phases``: its training phases in the order ``train_step`` runs them; each phase has an
  optimizer (``Config.optim[phase]``) over ``phase_parameters()[phase]``;
- ``metrics``: every scalar ``train_step`` returns, mapped to the phase that computes it
  (so a NaN is blamed on the right phase, and curves are grouped by phase);
- ``capabilities``: which optional methods it implements (:class:`Capabilities`).

Callers read these declarations; they never probe a model with ``hasattr``. Optional methods
that a model does not implement raise :class:`AAEError` with a clear message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from aae.config import Config
from aae.errors import AAEError
from aae.networks import Decoder
from aae.priors import Prior
from aae.regularizers import AdversarialRegularizer

#: the optimizers of one mini-batch, by phase
Optimizers = dict[str, torch.optim.Optimizer]
#: a no-argument context factory entered around forward passes (bf16 autocast or nothing)
Amp = Callable[[], AbstractContextManager]


@dataclass(frozen=True)
class Capabilities:
    """What a model can do beyond encode / decode / reconstruct / sample.

    ``classes``: ``predict_proba`` gives q(y|x) over the data set's classes (argmax = class).
    ``clusters``: ``predict_proba`` gives memberships of unsupervised clusters; each cluster is
    named after the label of its most confident validation example (paper §6).
    ``labeled_batch``: ``train_step`` needs ``labeled=(x_l, y_l)``, a mini-batch of labeled examples.
    ``teacher``: ``train_step`` takes ``teacher=``, the weight average (a model of the same class,
    or None when the run keeps none), as a consistency target, and ``epochs_done=``, the
    training's progress in epochs (a float), that the target's weight ramps up with.
    ``label_decoder``: ``decode(z, labels)`` draws class/cluster ``labels`` in styles ``z`` (Fig. 7a).
    ``heads``: ``heads()`` gives the image of each class/cluster at style 0 (Fig. 9).
    ``representation``: ``represent(x)``, ``view_2d(r)`` and ``cluster_heads`` (paper §7, Fig. 11).
    ``code_decoder``: ``decode(z)`` draws codes ``z`` (the 2-D manifold of Fig. 2e).
    ``label_prior``: the codes have a label-informed prior; ``label_match`` is reported.
    ``codes``: the model encodes x to codes z matched to a prior and decodes them (``encode``,
    ``reconstruct``, ``sample``, the code metrics and figures); False for the networks that are
    only q(y|x), the components measured alone (``classifier``, ``imsat``).
    ``bf16_parity``: bf16 autocast has been measured to train this model to float32's quality
    (``benchmarks/precision_parity.py``, 3 seeds), so ``precision="auto"`` may take it.
    """

    classes: bool = False
    clusters: bool = False
    labeled_batch: bool = False
    teacher: bool = False
    label_decoder: bool = False
    heads: bool = False
    representation: bool = False
    code_decoder: bool = False
    label_prior: bool = False
    bf16_parity: bool = False
    codes: bool = True

    @property
    def predicts(self) -> bool:
        """``predict_proba`` exists (classes or clusters)."""
        return self.classes or self.clusters


ADVERSARIAL_METRICS = {"disc_loss": "disc", "disc_acc": "disc", "gen_loss": "gen"}


class Model(nn.Module):
    """Base class of every model: encoder, decoder, prior and the declarations above."""

    phases: ClassVar[tuple[str, ...]] = ("recon",)
    metrics: ClassVar[dict[str, str]] = {"recon_loss": "recon"}
    capabilities: ClassVar[Capabilities] = Capabilities()

    prior: Prior
    decoder: Decoder

    def phase_parameters(self) -> dict[str, list[nn.Parameter]]:
        """The parameters each phase's optimizer updates, keyed by phase (all of ``phases``)."""
        raise NotImplementedError

    def train_step(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        optimizers: Optimizers,
        generator: torch.Generator | None = None,
        amp: Amp = nullcontext,
        labeled: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> dict[str, torch.Tensor]:
        """One mini-batch ``x`` ``(n, d)`` (labels ``y`` ``(n,)``, -1 = unlabeled) through every phase.

        ``amp()`` is entered around the forward computations; backward passes and optimizer
        steps stay outside. ``labeled`` is given when ``capabilities.labeled_batch``; ``radius``
        ``(n,)``, each example's distance to its k-th nearest training example, when
        ``neighbour_rank()`` is k > 0 (a model that asks for it takes it as a keyword). Returns
        the detached scalar ``metrics`` (no host sync).
        """
        raise NotImplementedError

    def neighbour_rank(self) -> int:
        """k > 0: ``train_step`` wants ``radius``, each example's distance to its k-th nearest
        training example (computed once by the trainer); 0 (default): it does not."""
        return 0

    @classmethod
    def check_config(cls, cfg: Config) -> None:
        """Refuse settings this model cannot train with, from the config alone (default: none).

        Called before a run writes anything; checks that need the data happen when the model is built.
        """

    @classmethod
    def from_config(cls, cfg: Config, data_dim: int, n_classes: int, image_shape: Sequence[int] | None = None) -> Model:
        """The model ``cfg`` describes for data of ``data_dim`` features, ``n_classes`` classes
        (0: unlabeled) and, for images, ``image_shape`` ``(h, w)`` or ``(c, h, w)``."""
        raise NotImplementedError

    def check_labels(self, y: torch.Tensor) -> None:
        """Refuse training labels ``y`` ``(n,)`` the model cannot use (default: any will do)."""

    # ------------------------------------------------------------ what every model does

    @property
    def sample_classes(self) -> int:
        """How many classes ``sample(labels=...)`` can address (0: none)."""
        return 0

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @torch.no_grad()
    def encode(self, x: torch.Tensor, generator: torch.Generator | None = None, sample: bool = True) -> torch.Tensor:
        """Codes ``(n, code_dim)``; ``sample=False`` gives the posterior mean of a Gaussian encoder."""
        raise NotImplementedError

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """``x`` ``(n, d)`` through the encoder and decoder; ``y`` (labels) only where the decoder needs them."""
        raise NotImplementedError

    @torch.no_grad()
    def sample(
        self, n: int, generator: torch.Generator | None = None, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``n`` decoded prior samples ``(n, d)``, of classes ``labels`` ``(n,)`` where the model has them."""
        raise NotImplementedError

    # ------------------------------------------------------------ optional, by capability

    def _missing(self, what: str) -> AAEError:
        return AAEError(f"the {type(self).__name__} has no {what}")

    @torch.no_grad()
    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Images ``(n, d)`` of codes ``z`` (``code_decoder``) or of ``labels`` in styles ``z`` (``label_decoder``)."""
        raise self._missing("decoder for given codes")

    @torch.no_grad()
    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """q(y | x) ``(n, K)`` (``capabilities.classes`` or ``clusters``)."""
        raise self._missing("classifier q(y|x) to predict with")

    @torch.no_grad()
    def heads(self) -> torch.Tensor:
        """The image of each class / cluster at style 0, ``(K, d)`` (``capabilities.heads``)."""
        raise self._missing("class heads")

    @torch.no_grad()
    def represent(self, x: torch.Tensor) -> torch.Tensor:
        """The learned representation of ``x`` ``(n, d)``: ``(n, code_dim)`` (``capabilities.representation``)."""
        raise self._missing("learned representation")

    @torch.no_grad()
    def view_2d(self, r: torch.Tensor) -> torch.Tensor:
        """A 2-D picture ``(n, 2)`` of representations ``r`` (``capabilities.representation``)."""
        raise self._missing("learned representation")


class PredictorModel(Model):
    """A model that is q(y|x) alone (``capabilities.codes`` false): a network ``net`` from inputs
    to logits, no codes, decoder or prior. ``encode``, ``reconstruct`` and ``sample`` say so, naming
    ``what`` it predicts and which presets do have codes (``with_codes``)."""

    net: nn.Module
    family: ClassVar[str] = "predictor"  # its name in Config.model
    what: ClassVar[str] = "q(y|x)"
    with_codes: ClassVar[str] = "the AAE presets"

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """A deterministic pass (no input noise, no dropout): ``(n, K)``."""
        return self.net(x, noise=False)

    @torch.no_grad()
    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """q(y|x) ``(n, K)``."""
        return torch.softmax(self.net(x).float(), 1)

    def _no_codes(self) -> AAEError:
        return AAEError(f"the {self.family} model has no codes, decoder or prior: it only predicts {self.what} "
                        f"(aae classify / eval); {self.with_codes} have them")  # fmt: skip

    def encode(self, x, generator=None, sample=True):
        raise self._no_codes()

    def reconstruct(self, x, y=None):
        raise self._no_codes()

    def sample(self, n, generator=None, labels=None):
        raise self._no_codes()


class LabelDecoderModel(Model):
    """Models whose decoder draws a class / cluster: sampling by label and the style grid of Fig. 7a.

    Subclasses set ``n_classes`` and implement ``decode(z, labels)``.
    """

    n_classes: int

    @property
    def sample_classes(self) -> int:
        return self.n_classes

    @torch.no_grad()
    def sample(
        self, n: int, generator: torch.Generator | None = None, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``n`` images ``(n, d)`` of classes ``labels`` (drawn uniformly when None) in prior styles."""
        z = self.prior.sample(n, generator).to(self.device)
        if labels is None:
            labels = torch.randint(0, self.n_classes, (n,), generator=generator)
        return self.decode(z, labels)


# ---------------------------------------------------------------- pieces the models share


def check_class_labels(y: torch.Tensor, n_classes: int, what: str) -> None:
    """Labels must be -1 (unlabeled) or in 0..n_classes-1."""
    bad = (y < -1) | (y >= n_classes)
    if bool(bad.any()):
        raise AAEError(f"{what}: label {int(y[bad][0])} is outside 0..{n_classes - 1} (-1 marks an unlabeled example)")


def check_every_class_labeled(y: torch.Tensor, n_classes: int, what: str) -> None:
    """Labels ``y`` ``(n,)`` in range (:func:`check_class_labels`) with at least one labeled
    example of every class: a classifier could never learn a class it is never shown."""
    check_class_labels(y, n_classes, what)
    counts = torch.bincount(y[y >= 0].cpu(), minlength=n_classes)
    missing = (counts == 0).nonzero().squeeze(1).tolist()
    if missing:
        raise AAEError(f"class(es) {missing} have no labeled training example; the classifier could never learn them")


def reconstruction_loss(decoder: Decoder, z: torch.Tensor, x: torch.Tensor, kind: str) -> torch.Tensor:
    """Per-example cost summed over data dimensions, averaged over the batch (scalar).

    ``mse``: squared error; ``l1``: absolute error; ``bce``: binary cross-entropy (computed from logits).
    A decoder with a :class:`~aae.networks.Standardize` output is compared in standardized units
    (the decoder's raw output against the standardized ``x``), as the paper trains on TFD and SVHN.
    """
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(decoder.logits(z).float(), x, reduction="sum") / len(x)
    if decoder.standardize is not None:
        pred, x = decoder.logits(z).float(), decoder.standardize(x)
    else:
        pred = decoder(z).float()
    if kind == "l1":
        return F.l1_loss(pred, x, reduction="sum") / len(x)
    return F.mse_loss(pred, x, reduction="sum") / len(x)


def reconstruction_phase(loss: torch.Tensor, optimizers: Optimizers) -> None:
    """Step the ``recon`` optimizer on ``loss``."""
    optimizers["recon"].zero_grad(set_to_none=True)
    loss.backward()
    optimizers["recon"].step()


def adversarial_phases(
    triples: list[tuple[AdversarialRegularizer, torch.Tensor, torch.Tensor | None]],
    optimizers: Optimizers,
    generator: torch.Generator | None,
    amp: Amp,
    extra: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """The regularization phase for one or more (regularizer, codes, labels) triples.

    First the discriminators (optimizer ``disc``) learn to tell prior samples from the
    detached codes, then the encoder (optimizer ``gen``) learns to fool all of them at once.
    The codes must have been computed under ``amp()`` with the encoder's graph attached;
    labels (``(n,)``, -1 = unlabeled) go to label-informed regularizers, None otherwise.
    ``extra`` (a scalar computed from the same codes) is added to the encoder's cost.
    Returns the :data:`ADVERSARIAL_METRICS`.
    """
    with amp():
        d_losses = [reg.discriminator_loss(z.detach(), y, generator) for reg, z, y in triples]
    d_loss = sum(loss for loss, _ in d_losses)
    optimizers["disc"].zero_grad(set_to_none=True)
    d_loss.backward()
    optimizers["disc"].step()
    discs = [reg.discriminator for reg, _, _ in triples]
    for d in discs:
        d.requires_grad_(False)  # the generator step needs no discriminator weight gradients
    try:
        with amp():
            g_loss = sum(reg.generator_loss(z, y, generator) for reg, z, y in triples)
            if extra is not None:
                g_loss = g_loss + extra
        optimizers["gen"].zero_grad(set_to_none=True)
        g_loss.backward()
        optimizers["gen"].step()
    finally:
        for d in discs:
            d.requires_grad_(True)
    disc_acc = torch.stack([acc.detach() for _, acc in d_losses]).mean()
    return {"disc_loss": d_loss.detach(), "disc_acc": disc_acc, "gen_loss": g_loss.detach()}
