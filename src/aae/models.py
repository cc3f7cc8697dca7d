"""Models: networks + prior + regularizer, and the per-mini-batch update of each.

A model owns its networks and knows its training phases: ``phase_parameters()`` names
the parameters each phase's optimizer updates, and ``train_step`` runs one mini-batch
through every phase. The trainer (``aae.training``) is generic over that contract, so
new models (semi-supervised, VAE, WAE) are new classes here, not flags in the trainer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext

import torch
import torch.nn.functional as F
from torch import nn

from aae.config import Config
from aae.errors import AAEError
from aae.networks import STANDARDIZE_NEEDS_LINEAR, Decoder, Encoder, init_normal_
from aae.priors import Prior, make_prior
from aae.regularizers import AdversarialRegularizer, KLRegularizer, MMDRegularizer, PenaltyRegularizer

RECON_LOSSES = ("mse", "l1", "bce")
#: latent regularizers (``Config.regularizer``)
REGULARIZERS = ("adversarial", "mmd", "kl")


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


def adversarial_phases(
    triples: list[tuple[AdversarialRegularizer, torch.Tensor, torch.Tensor | None]],
    optimizers: dict[str, torch.optim.Optimizer],
    generator: torch.Generator | None,
    amp: Callable[[], AbstractContextManager],
) -> dict[str, torch.Tensor]:
    """The regularization phase for one or more (regularizer, codes, labels) triples.

    First the discriminators (optimizer ``disc``) learn to tell prior samples from the
    detached codes, then the encoder (optimizer ``gen``) learns to fool all of them at once.
    The codes must have been computed under ``amp()`` with the encoder's graph attached;
    labels (``(n,)``, -1 = unlabeled) go to label-informed regularizers, None otherwise.
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
        optimizers["gen"].zero_grad(set_to_none=True)
        g_loss.backward()
        optimizers["gen"].step()
    finally:
        for d in discs:
            d.requires_grad_(True)
    disc_acc = torch.stack([acc.detach() for _, acc in d_losses]).mean()
    return {"disc_loss": d_loss.detach(), "disc_acc": disc_acc, "gen_loss": g_loss.detach()}


class Autoencoder(nn.Module):
    """Encoder q(z|x), decoder p(x|z), prior p(z) and a latent regularizer: what every model here shares.

    Subclasses define the phases and the per-mini-batch update.
    """

    def __init__(
        self,
        encoder: Encoder,
        decoder: Decoder,
        prior: Prior,
        regularizer: nn.Module | None,
        recon_loss: str = "mse",
        use_labels: bool = False,
    ):
        super().__init__()
        if recon_loss not in RECON_LOSSES:
            raise AAEError(f"unknown recon_loss {recon_loss!r}; choose one of {list(RECON_LOSSES)}")
        self.encoder, self.decoder, self.prior = encoder, decoder, prior
        self.regularizer = regularizer
        self.recon_loss, self.use_labels = recon_loss, use_labels

    @torch.no_grad()
    def encode(self, x: torch.Tensor, generator: torch.Generator | None = None, sample: bool = True) -> torch.Tensor:
        """Codes ``(n, code_dim)``; ``sample=False`` gives the posterior mean of a Gaussian encoder."""
        return self.encoder(x, generator, sample=sample)

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Decoded data ``(n, data_dim)`` (in [0, 1] for a sigmoid decoder)."""
        return self.decoder(z)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """``x`` ``(n, d)`` through the encoder (posterior mean) and decoder; ``y`` is not used."""
        return self.decoder(self.encoder(x, sample=False))

    @property
    def sample_classes(self) -> int:
        """How many classes ``sample(labels=...)`` can address (0: none)."""
        return self.prior.n_classes

    @torch.no_grad()
    def sample(
        self, n: int, generator: torch.Generator | None = None, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Decode ``n`` prior samples: ``(n, data_dim)``."""
        return self.decoder(self.prior.sample(n, generator, labels=labels).to(self.device))

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device


class AdversarialAutoencoder(Autoencoder):
    """The AAE (paper §2): encoder q(z|x), decoder p(x|z), adversarial match of q(z) to p(z).

    Phases per mini-batch: ``recon`` (encoder + decoder on the reconstruction cost), then
    ``disc`` (the discriminator) and ``gen`` (the encoder, fooling the discriminator).
    Without a regularizer it is the plain autoencoder: the ``recon`` phase alone.
    """

    regularizer: AdversarialRegularizer | None

    @property
    def phases(self) -> tuple[str, ...]:
        return ("recon", "disc", "gen") if self.regularizer is not None else ("recon",)

    def phase_parameters(self) -> dict[str, list[nn.Parameter]]:
        params = {"recon": [*self.encoder.parameters(), *self.decoder.parameters()]}
        if self.regularizer is not None:
            params["disc"] = list(self.regularizer.discriminator.parameters())
            params["gen"] = list(self.encoder.parameters())
        return params

    def train_step(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        optimizers: dict[str, torch.optim.Optimizer],
        generator: torch.Generator | None = None,
        amp: Callable[[], AbstractContextManager] = nullcontext,
    ) -> dict[str, torch.Tensor]:
        """One mini-batch (``x`` ``(n, d)``, ``y`` ``(n,)`` with -1 = unlabeled) through every phase.

        ``amp()`` is entered around the forward computations (e.g. bf16 autocast; the
        backward passes and optimizer steps stay outside). Returns detached scalar metrics
        (no host sync).
        """
        # (1) reconstruction
        with amp():
            z = self.encoder(x, generator)
            rec = reconstruction_loss(self.decoder, z, x, self.recon_loss)
        optimizers["recon"].zero_grad(set_to_none=True)
        rec.backward()
        optimizers["recon"].step()
        out = {"recon_loss": rec.detach()}
        if self.regularizer is None:
            return out
        # (2) regularization. The encoder does not change between the discriminator and the
        # generator update, so one encoder forward serves both.
        with amp():
            z = self.encoder(x, generator)
        y_reg = y if self.use_labels else None
        out.update(adversarial_phases([(self.regularizer, z, y_reg)], optimizers, generator, amp))
        return out


class PenaltyAutoencoder(Autoencoder):
    """WAE-MMD and VAE: the reconstruction cost plus ``weight`` × a latent penalty, in one phase.

    The ``recon`` phase updates encoder and decoder on c(x, x̂) + λ·D(q, p), D the regularizer's
    penalty (MMD² for :class:`MMDRegularizer`, KL(q(z|x) || p(z)) for :class:`KLRegularizer`).
    """

    regularizer: PenaltyRegularizer

    phases = ("recon",)

    def phase_parameters(self) -> dict[str, list[nn.Parameter]]:
        return {"recon": [*self.encoder.parameters(), *self.decoder.parameters()]}

    def train_step(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        optimizers: dict[str, torch.optim.Optimizer],
        generator: torch.Generator | None = None,
        amp: Callable[[], AbstractContextManager] = nullcontext,
    ) -> dict[str, torch.Tensor]:
        """One mini-batch (``x`` ``(n, d)``; ``y`` unused) through the single phase; detached scalar metrics.

        Metrics: ``recon_loss`` (the reconstruction cost alone, comparable with the AAE's),
        the unweighted penalty under the regularizer's name (``mmd`` or ``kl``) and ``loss``, the total.
        """
        reg = self.regularizer
        with amp():
            mu, logvar = self.encoder.stats(x, generator)
            z = self.encoder.reparameterize(mu, logvar, generator)
            rec = reconstruction_loss(self.decoder, z, x, self.recon_loss)
        # the penalty stays in float32 outside autocast: kernel sums over a batch and the
        # closed-form quadratic forms lose too much in bf16
        pen = reg.penalty(z, mu, logvar, generator)
        loss = rec + reg.weight * pen
        optimizers["recon"].zero_grad(set_to_none=True)
        loss.backward()
        optimizers["recon"].step()
        return {"recon_loss": rec.detach(), reg.name: pen.detach(), "loss": loss.detach()}


def build_prior(cfg: Config) -> Prior:
    """The prior of ``cfg.prior`` (a table with ``name`` and the prior's parameters) for ``network.code_dim``.

    From Python, ``name`` may also be a sampler ``f(n, generator)`` or a :class:`Prior`.
    """
    kwargs = dict(cfg.prior)
    name = kwargs.pop("name", None)
    if not (isinstance(name, (str, Prior)) or callable(name)):
        raise AAEError("config table 'prior' needs a 'name' (e.g. gaussian, mixture, swissroll, module:function)")
    return make_prior(name, cfg.network.code_dim, **kwargs)


def build_regularizer(cfg: Config, prior: Prior, n_classes: int) -> nn.Module | None:
    """The latent regularizer ``cfg.regularizer`` names, or None for ``regularize=false``."""
    net = cfg.network
    if cfg.regularizer not in REGULARIZERS:
        raise AAEError(f"unknown regularizer {cfg.regularizer!r}; choose one of {list(REGULARIZERS)}")
    if not cfg.regularize:
        return None
    if cfg.regularizer == "adversarial":
        return AdversarialRegularizer(
            prior, net.code_dim, net.disc_hidden, n_classes if cfg.use_labels else 0, cfg.label_weight, net.disc_noise
        )
    if cfg.use_labels:
        raise AAEError(f"use_labels=true works with the adversarial regularizer only, not {cfg.regularizer!r}")
    if cfg.regularizer == "mmd":
        return MMDRegularizer(prior, net.code_dim, cfg.mmd_lambda, cfg.mmd_kernel, cfg.mmd_scales, cfg.mmd_closed_form)
    if net.encoder != "gaussian":
        raise AAEError(
            f"regularizer='kl' (the VAE) needs a Gaussian posterior: set network.encoder=gaussian (got {net.encoder!r})"
        )
    return KLRegularizer(prior, net.code_dim, cfg.kl_weight)


def build_encoder_decoder(
    cfg: Config, data_dim: int, decoder_in: int, image_shape: Sequence[int] | None = None
) -> tuple[Encoder, Decoder]:
    """The encoder q(z|x) and the decoder from ``decoder_in`` inputs (the code, plus a label for
    the supervised AAE) that ``cfg.network`` describes, for data of ``data_dim`` features."""
    net = cfg.network
    arch = network_kwargs(cfg, image_shape)
    encoder = Encoder(
        data_dim,
        net.code_dim,
        net.hidden,
        net.encoder,
        net.noise_dim,
        net.dropout,
        batchnorm=net.batchnorm,
        input_noise=net.input_noise,
        **arch,
    )
    decoder = Decoder(decoder_in, data_dim, list(reversed(net.hidden)), net.output, batchnorm=net.batchnorm, **arch)
    return encoder, decoder


def network_kwargs(cfg: Config, image_shape: Sequence[int] | None) -> dict:
    """Keyword arguments every encoder / decoder of ``cfg`` takes: arch, image shape, channels, standardize."""
    net = cfg.network
    return {
        "arch": net.arch,
        "image_shape": image_shape,
        "channels": net.channels,
        "standardize": cfg.data.standardize,
    }


def check_standardize(cfg: Config) -> None:
    """``data.standardize`` needs a linear decoder and a squared or absolute error cost."""
    if not cfg.data.standardize:
        return
    if cfg.network.output != "linear":
        raise AAEError(STANDARDIZE_NEEDS_LINEAR)
    if cfg.recon_loss == "bce":
        raise AAEError(
            "data.standardize=true and recon_loss='bce' do not go together: binary cross-entropy needs "
            "targets in [0, 1]; use recon_loss='mse' (or 'l1')"
        )


def build_aae(cfg: Config, data_dim: int, n_classes: int, image_shape: Sequence[int] | None = None) -> Autoencoder:
    """The autoencoder ``cfg`` describes, for data of ``data_dim`` features.

    An :class:`AdversarialAutoencoder` for ``regularizer="adversarial"`` or ``regularize=false``,
    a :class:`PenaltyAutoencoder` (WAE-MMD, VAE) for ``"mmd"`` and ``"kl"``. ``image_shape``
    (``(h, w)`` or ``(c, h, w)``) is needed by ``network.arch = "conv"``.
    """
    net = cfg.network
    prior = build_prior(cfg)
    name = cfg.prior["name"]
    if cfg.use_labels:
        if n_classes == 0:
            raise AAEError("use_labels=true but the data set has no labels")
        if prior.n_classes < n_classes:
            raise AAEError(
                f"use_labels=true needs a prior with a component per class ({n_classes}); "
                f"prior {name!r} has {prior.n_classes}"
            )
    encoder, decoder = build_encoder_decoder(cfg, data_dim, net.code_dim, image_shape)
    regularizer = build_regularizer(cfg, prior, n_classes)
    cls = AdversarialAutoencoder if regularizer is None or cfg.regularizer == "adversarial" else PenaltyAutoencoder
    model = cls(encoder, decoder, prior, regularizer, cfg.recon_loss, cfg.use_labels)
    if net.init_std > 0:
        init_normal_(model, net.init_std)
    return model


#: model name (``Config.model``) -> builder ``(cfg, data_dim, n_classes, image_shape=None) -> nn.Module``
MODELS: dict[str, Callable[..., nn.Module]] = {"aae": build_aae}


def build_model(cfg: Config, data_dim: int, n_classes: int, image_shape: Sequence[int] | None = None) -> nn.Module:
    """The model ``cfg.model`` for data of ``data_dim`` features (images of ``image_shape``, if any)."""
    from aae import semisupervised  # noqa: F401  (registers its models in MODELS)

    if cfg.model not in MODELS:
        raise AAEError(f"unknown model {cfg.model!r}; choose one of {sorted(MODELS)}")
    check_standardize(cfg)
    return MODELS[cfg.model](cfg, data_dim, n_classes, image_shape=image_shape)
