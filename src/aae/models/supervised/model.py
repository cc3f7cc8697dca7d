"""Model ``supervised``: style and content (paper §4, Fig. 6-7): the decoder receives the label."""

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
    check_class_labels,
    reconstruction_loss,
    reconstruction_phase,
)
from aae.models.build import build_decoder, build_encoder, build_prior, initialized
from aae.networks import Decoder, Encoder
from aae.regularizers import AdversarialRegularizer


class SupervisedAAE(LabelDecoderModel):
    """Style / content disentangling.

    ``encoder``: x -> style z ``(n, style_dim)``; ``decoder``: [one-hot y, z] -> x; the
    regularizer matches q(z) to its prior, so z learns the style and the label the content.
    Every training example needs a label. With ``label_discriminator`` the regularizer's
    discriminator also sees the label and matches q(z|y) to the prior for every class.
    """

    phases: ClassVar[tuple[str, ...]] = ("recon", "disc", "gen")
    metrics: ClassVar[dict[str, str]] = {"recon_loss": "recon", **ADVERSARIAL_METRICS}
    # bf16: 5 epochs of mnist-supervised-style, seeds 0-2, end as well as in float32
    # (benchmarks/precision_parity.py; the numbers in docs/speed.md)
    capabilities: ClassVar[Capabilities] = Capabilities(label_decoder=True, bf16_parity=True)

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
        self.prior = regularizer.prior

    @classmethod
    def from_config(
        cls, cfg: Config, data_dim: int, n_classes: int, image_shape: Sequence[int] | None = None
    ) -> SupervisedAAE:
        """``network.code_dim`` is the style size, ``prior`` its prior."""
        if n_classes < 1:
            raise AAEError("the supervised AAE needs a labeled data set (the decoder receives the label)")
        net = cfg.network
        prior = build_prior(cfg)
        encoder = build_encoder(cfg, data_dim, image_shape)
        decoder = build_decoder(cfg, net.code_dim + n_classes, data_dim, image_shape)
        n_label_inputs = n_classes if cfg.supervised.label_discriminator else 0
        regularizer = AdversarialRegularizer(
            prior, net.code_dim, net.disc_hidden, n_label_inputs, input_noise=net.disc_noise
        )
        return initialized(cls(encoder, decoder, regularizer, n_classes, cfg.recon_loss), cfg)

    def phase_parameters(self) -> dict[str, list[nn.Parameter]]:
        return {
            "recon": [*self.encoder.parameters(), *self.decoder.parameters()],
            "disc": list(self.regularizer.discriminator.parameters()),
            "gen": list(self.encoder.parameters()),
        }

    def check_labels(self, y: torch.Tensor) -> None:
        """Refuse training labels the model cannot use: it needs every example labeled."""
        check_class_labels(y, self.n_classes, "supervised AAE")
        n_missing = int((y < 0).sum())
        if n_missing:
            raise AAEError(
                f"the supervised AAE needs every training example labeled; {n_missing} are not "
                "(use data.n_labeled=-1, or the semisupervised model)"
            )

    def _decoder_input(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.cat([F.one_hot(y, self.n_classes).to(z.dtype), z], 1)

    def train_step(self, x, y, optimizers, generator=None, amp: Amp = nullcontext, labeled=None):
        """One labeled mini-batch (``x`` ``(n, d)``, ``y`` ``(n,)``) through recon, disc, gen."""
        with amp():
            z = self.encoder(x, generator)
            rec = reconstruction_loss(self.decoder, self._decoder_input(z, y), x, self.recon_loss)
        reconstruction_phase(rec, optimizers)
        with amp():
            z = self.encoder(x, generator)
        return {
            "recon_loss": rec.detach(),
            # a regularizer built without label inputs ignores y
            **adversarial_phases([(self.regularizer, z, y)], optimizers, generator, amp),
        }

    @torch.no_grad()
    def encode(self, x: torch.Tensor, generator: torch.Generator | None = None, sample: bool = True) -> torch.Tensor:
        """Style codes ``(n, style_dim)``."""
        return self.encoder(x, generator, sample=sample)

    @torch.no_grad()
    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Images ``(n, d)`` of classes ``labels`` ``(n,)`` in styles ``z`` ``(n, style_dim)``."""
        if labels is None:
            raise AAEError("the supervised AAE decodes a style with a label: pass labels")
        return self.decoder(self._decoder_input(z, labels.to(z.device).long()))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if y is None:
            raise AAEError("the supervised AAE reconstructs from the style and the label: pass labels y")
        return self.decode(self.encoder(x, sample=False), y)


#: this family's models by Config.model name (aae.models registers them)
MODELS = {"supervised": SupervisedAAE}
