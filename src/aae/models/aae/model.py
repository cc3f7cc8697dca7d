"""Model ``aae``: the adversarial autoencoder (paper §2), optionally with labels in the regularization (§2.3)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from typing import ClassVar

from torch import nn

from aae.config import Config
from aae.errors import AAEError
from aae.models.autoencoder.model import Autoencoder
from aae.models.base import ADVERSARIAL_METRICS, Amp, Capabilities, adversarial_phases
from aae.models.build import build_decoder, build_encoder, build_prior, initialized
from aae.networks import Decoder, Encoder
from aae.regularizers import AdversarialRegularizer


class AdversarialAutoencoder(Autoencoder):
    """Encoder q(z|x), decoder p(x|z), and a discriminator that matches q(z) to the prior p(z).

    Phases per mini-batch: ``recon`` (encoder + decoder on the reconstruction cost), then
    ``disc`` (the discriminator) and ``gen`` (the encoder, fooling the discriminator). With
    ``use_labels`` the discriminator also sees each example's one-hot label, so labeled codes
    are pushed into their class's part of the prior (paper §2.3, Fig. 4).
    """

    phases: ClassVar[tuple[str, ...]] = ("recon", "disc", "gen")
    metrics: ClassVar[dict[str, str]] = {"recon_loss": "recon", **ADVERSARIAL_METRICS}

    def __init__(
        self,
        encoder: Encoder,
        decoder: Decoder,
        regularizer: AdversarialRegularizer,
        recon_loss: str = "mse",
        use_labels: bool = False,
    ):
        super().__init__(encoder, decoder, regularizer.prior, recon_loss)
        self.regularizer, self.use_labels = regularizer, use_labels

    @property
    def capabilities(self) -> Capabilities:  # type: ignore[override]
        return Capabilities(code_decoder=True, label_prior=self.use_labels, bf16_parity=True)

    @classmethod
    def from_config(
        cls, cfg: Config, data_dim: int, n_classes: int, image_shape: Sequence[int] | None = None
    ) -> AdversarialAutoencoder:
        net, labels = cfg.network, cfg.aae.use_labels
        prior = build_prior(cfg)
        if labels:
            if n_classes == 0:
                raise AAEError("aae.use_labels=true but the data set has no labels")
            if prior.n_classes < n_classes:
                raise AAEError(
                    f"aae.use_labels=true needs a prior with a component per class ({n_classes}); "
                    f"prior {cfg.prior['name']!r} has {prior.n_classes}"
                )
        encoder = build_encoder(cfg, data_dim, image_shape)
        decoder = build_decoder(cfg, net.code_dim, data_dim, image_shape)
        regularizer = AdversarialRegularizer(
            prior, net.code_dim, net.disc_hidden, n_classes if labels else 0, cfg.aae.label_weight, net.disc_noise
        )
        return initialized(cls(encoder, decoder, regularizer, cfg.recon_loss, labels), cfg)

    def phase_parameters(self) -> dict[str, list[nn.Parameter]]:
        return {
            **super().phase_parameters(),
            "disc": list(self.regularizer.discriminator.parameters()),
            "gen": list(self.encoder.parameters()),
        }

    def train_step(self, x, y, optimizers, generator=None, amp: Amp = nullcontext, labeled=None):
        out = {"recon_loss": self._reconstruction(x, optimizers, generator, amp)}
        # the encoder does not change between the discriminator and the generator update,
        # so one encoder forward serves both
        with amp():
            z = self.encoder(x, generator)
        y_reg = y if self.use_labels else None
        out.update(adversarial_phases([(self.regularizer, z, y_reg)], optimizers, generator, amp))
        return out


#: this family's models by Config.model name (aae.models registers them)
MODELS = {"aae": AdversarialAutoencoder}
