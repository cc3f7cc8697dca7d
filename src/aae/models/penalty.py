"""The shared form of the WAE-MMD and the VAE: reconstruction + weight × a latent penalty, in one phase."""

from __future__ import annotations

from contextlib import nullcontext
from typing import ClassVar

from aae.config import Config
from aae.models.autoencoder.model import Autoencoder
from aae.models.base import Amp, reconstruction_loss, reconstruction_phase
from aae.networks import Decoder, Encoder
from aae.priors import Prior
from aae.regularizers import PenaltyRegularizer


class PenaltyAutoencoder(Autoencoder):
    """The ``recon`` phase updates encoder and decoder on c(x, x̂) + λ·D(q, p).

    D is the regularizer's penalty (MMD² for the WAE, KL(q(z|x) || p(z)) for the VAE). Metrics:
    ``recon_loss`` (the reconstruction cost alone, comparable with the AAE's), the unweighted
    penalty under the regularizer's name (``mmd`` or ``kl``) and ``loss``, the total.
    Subclasses say which regularizer (:meth:`make_regularizer`).
    """

    metrics: ClassVar[dict[str, str]] = {"recon_loss": "recon", "loss": "recon"}

    def __init__(
        self, encoder: Encoder, decoder: Decoder, prior: Prior, regularizer: PenaltyRegularizer, recon_loss: str = "mse"
    ):
        super().__init__(encoder, decoder, prior, recon_loss)
        self.regularizer = regularizer

    @classmethod
    def make_regularizer(cls, cfg: Config, prior: Prior) -> PenaltyRegularizer:
        raise NotImplementedError

    @classmethod
    def assemble(cls, cfg: Config, encoder: Encoder, decoder: Decoder, prior: Prior) -> PenaltyAutoencoder:
        return cls(encoder, decoder, prior, cls.make_regularizer(cfg, prior), cfg.recon_loss)

    def train_step(self, x, y, optimizers, generator=None, amp: Amp = nullcontext, labeled=None):
        reg = self.regularizer
        with amp():
            mu, logvar = self.encoder.stats(x, generator)
            z = self.encoder.reparameterize(mu, logvar, generator)
            rec = reconstruction_loss(self.decoder, z, x, self.recon_loss)
        # the penalty stays in float32 outside autocast: kernel sums over a batch and the
        # closed-form quadratic forms lose too much in bf16
        pen = reg.penalty(z, (mu, logvar), generator)
        loss = rec + reg.weight * pen
        reconstruction_phase(loss, optimizers)
        return {"recon_loss": rec.detach(), reg.name: pen.detach(), "loss": loss.detach()}
