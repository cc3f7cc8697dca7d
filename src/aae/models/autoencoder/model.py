"""Model ``autoencoder``: encoder q(z|x) and decoder p(x|z) on the reconstruction cost alone.

It is the baseline of the paper's figures (no regularization of the codes) and the base class
of the models with one code z: :class:`~aae.models.aae.model.AdversarialAutoencoder`,
:class:`~aae.models.penalty.PenaltyAutoencoder` (WAE, VAE).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from typing import ClassVar

import torch
from torch import nn

from aae.config import Config
from aae.models.base import Amp, Capabilities, Model, Optimizers, reconstruction_loss, reconstruction_phase
from aae.models.build import build_decoder, build_encoder, build_prior, initialized
from aae.networks import Decoder, Encoder
from aae.priors import Prior


class Autoencoder(Model):
    """Encoder q(z|x) ``(n, d) -> (n, code_dim)``, decoder p(x|z), and the prior p(z) codes are compared with.

    One phase, ``recon``: encoder and decoder on the reconstruction cost. The prior is used
    for sampling and for the reported MMD between codes and prior, not in training.
    """

    capabilities: ClassVar[Capabilities] = Capabilities(code_decoder=True)

    def __init__(self, encoder: Encoder, decoder: Decoder, prior: Prior, recon_loss: str = "mse"):
        super().__init__()
        self.encoder, self.decoder, self.prior = encoder, decoder, prior
        self.recon_loss = recon_loss

    @classmethod
    def from_config(
        cls, cfg: Config, data_dim: int, n_classes: int, image_shape: Sequence[int] | None = None
    ) -> Autoencoder:
        prior = build_prior(cfg)
        encoder = build_encoder(cfg, data_dim, image_shape)
        decoder = build_decoder(cfg, cfg.network.code_dim, data_dim, image_shape)
        return initialized(cls.assemble(cfg, encoder, decoder, prior), cfg)

    @classmethod
    def assemble(cls, cfg: Config, encoder: Encoder, decoder: Decoder, prior: Prior) -> Autoencoder:
        """The model from its parts (subclasses with more parts build them here)."""
        return cls(encoder, decoder, prior, cfg.recon_loss)

    def phase_parameters(self) -> dict[str, list[nn.Parameter]]:
        return {"recon": [*self.encoder.parameters(), *self.decoder.parameters()]}

    def _reconstruction(
        self, x: torch.Tensor, optimizers: Optimizers, generator: torch.Generator | None, amp: Amp
    ) -> torch.Tensor:
        """The ``recon`` phase on ``x``; returns the detached cost."""
        with amp():
            z = self.encoder(x, generator)
            rec = reconstruction_loss(self.decoder, z, x, self.recon_loss)
        reconstruction_phase(rec, optimizers)
        return rec.detach()

    def train_step(self, x, y, optimizers, generator=None, amp: Amp = nullcontext, labeled=None):
        return {"recon_loss": self._reconstruction(x, optimizers, generator, amp)}

    @torch.no_grad()
    def encode(self, x: torch.Tensor, generator: torch.Generator | None = None, sample: bool = True) -> torch.Tensor:
        """Codes ``(n, code_dim)``; ``sample=False`` gives the posterior mean of a Gaussian encoder."""
        return self.encoder(x, generator, sample=sample)

    @torch.no_grad()
    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Decoded data ``(n, data_dim)`` (in [0, 1] for a sigmoid decoder); ``labels`` are not used."""
        return self.decoder(z)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """``x`` ``(n, d)`` through the encoder (posterior mean) and decoder; ``y`` is not used."""
        return self.decoder(self.encoder(x, sample=False))

    @property
    def sample_classes(self) -> int:
        """How many classes ``sample(labels=...)`` can address: the prior's components (0: none)."""
        return self.prior.n_classes

    @torch.no_grad()
    def sample(
        self, n: int, generator: torch.Generator | None = None, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Decode ``n`` prior samples (of the prior's components ``labels``): ``(n, data_dim)``."""
        return self.decoder(self.prior.sample(n, generator, labels=labels).to(self.device))


#: this family's models by Config.model name (aae.models registers them)
MODELS = {"autoencoder": Autoencoder}
