"""Latent regularizers: what pushes the aggregated posterior q(z) towards the prior p(z).

:class:`AdversarialRegularizer` is the AAE's (paper §2): a discriminator tells prior
samples (label 1) from codes (label 0); the encoder, as generator, learns to fool it.
With ``n_classes > 0`` the discriminator also receives a one-hot label with an extra
slot for unlabeled examples, and each labeled example's prior sample comes from its
class's component (paper §2.3).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from aae.networks import Discriminator
from aae.priors import Prior


class AdversarialRegularizer(nn.Module):
    """Discriminator-based match of codes ``z`` (``(n, d)``) to ``prior``."""

    def __init__(
        self,
        prior: Prior,
        code_dim: int,
        hidden: Sequence[int] = (1000, 1000),
        n_classes: int = 0,
        label_weight: float = 1.0,
    ):
        super().__init__()
        self.prior, self.n_classes, self.label_weight = prior, n_classes, label_weight
        self.discriminator = Discriminator(code_dim, hidden, n_label_inputs=n_classes + 1 if n_classes else 0)

    def _onehot(self, y: torch.Tensor | None) -> torch.Tensor | None:
        if not self.n_classes:
            return None
        # -1 (unlabeled) goes to the extra last slot
        return F.one_hot(torch.where(y < 0, self.n_classes, y), self.n_classes + 1).float()

    def _weights(self, y: torch.Tensor | None) -> torch.Tensor | None:
        """Per-example loss weights: labeled examples count ``label_weight`` times (mean 1)."""
        if not self.n_classes or self.label_weight == 1.0:
            return None
        w = torch.where(y >= 0, self.label_weight, 1.0)
        return w / w.mean()

    def discriminator_loss(
        self, z: torch.Tensor, y: torch.Tensor | None, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """BCE of D on prior samples (real) vs ``z`` (fake); returns (loss, accuracy)."""
        labels = y if self.n_classes else None
        real = self.prior.sample(len(z), generator, labels=labels).to(z.dtype)
        onehot = self._onehot(y)
        both = torch.cat([real, z], 0)
        logits = self.discriminator(both, None if onehot is None else torch.cat([onehot, onehot], 0))
        target = torch.cat([torch.ones(len(z), device=z.device), torch.zeros(len(z), device=z.device)])
        w = self._weights(y)
        loss = F.binary_cross_entropy_with_logits(logits.float(), target, None if w is None else torch.cat([w, w]))
        acc = ((logits > 0).float() == target).float().mean()
        return loss, acc

    def generator_loss(self, z: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """Non-saturating generator loss: -log D(z)."""
        logits = self.discriminator(z, self._onehot(y))
        target = torch.ones_like(logits, dtype=torch.float32)
        return F.binary_cross_entropy_with_logits(logits.float(), target, self._weights(y))
