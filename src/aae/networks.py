"""MLP building blocks: encoders (three kinds, paper §2), decoder, discriminator.

Shapes: data ``x`` is ``(n, data_dim)`` in [0, 1] (flattened images), codes ``z`` are
``(n, code_dim)``. The paper's default is two hidden layers of 1000 ReLU units for all
three networks, a linear code layer and a sigmoid decoder output.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from aae.errors import AAEError

ENCODER_KINDS = ("deterministic", "gaussian", "universal")


def mlp(
    in_dim: int,
    hidden: Sequence[int],
    out_dim: int,
    output: str = "linear",
    dropout: float = 0.0,
) -> nn.Sequential:
    """``in_dim -> hidden... -> out_dim`` with ReLU between layers and ``output`` activation.

    ``output`` is ``"linear"`` or ``"sigmoid"``.
    """
    layers: list[nn.Module] = []
    d = in_dim
    for h in hidden:
        layers += [nn.Linear(d, h), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        d = h
    layers.append(nn.Linear(d, out_dim))
    if output == "sigmoid":
        layers.append(nn.Sigmoid())
    elif output != "linear":
        raise AAEError(f"unknown output activation {output!r}; choose 'linear' or 'sigmoid'")
    return nn.Sequential(*layers)


def init_normal_(module: nn.Module, std: float) -> None:
    """Re-initialise every Linear layer with weights N(0, std²) and zero biases (paper appendix)."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, std)
            nn.init.zeros_(m.bias)


class Encoder(nn.Module):
    """q(z|x). ``forward(x, generator) -> z`` of shape ``(n, code_dim)``.

    kinds (paper §2):
      - ``deterministic``: z = f(x)
      - ``gaussian``: z ~ N(μ(x), σ(x)²), reparameterised; ``stats(x)`` gives (μ, log σ²)
      - ``universal``: z = f(x, η), η ~ N(0, I) of size ``noise_dim`` concatenated to x
    """

    def __init__(
        self,
        data_dim: int,
        code_dim: int,
        hidden: Sequence[int] = (1000, 1000),
        kind: str = "deterministic",
        noise_dim: int = 0,
        dropout: float = 0.0,
    ):
        super().__init__()
        if kind not in ENCODER_KINDS:
            raise AAEError(f"unknown encoder kind {kind!r}; choose one of {list(ENCODER_KINDS)}")
        if kind == "universal" and noise_dim < 1:
            raise AAEError("the universal encoder needs noise_dim >= 1")
        self.kind, self.code_dim = kind, code_dim
        self.noise_dim = noise_dim if kind == "universal" else 0
        out = 2 * code_dim if kind == "gaussian" else code_dim
        self.net = mlp(data_dim + self.noise_dim, hidden, out, dropout=dropout)

    def stats(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(mean, log-variance) of q(z|x); log-variance is None for the deterministic kinds."""
        if self.noise_dim:
            eta = torch.randn(len(x), self.noise_dim, generator=generator, device=x.device, dtype=x.dtype)
            x = torch.cat([x, eta], 1)
        h = self.net(x)
        if self.kind == "gaussian":
            mu, logvar = h.chunk(2, dim=1)
            return mu, logvar.clamp(-30.0, 20.0)
        return h, None

    @staticmethod
    def reparameterize(
        mu: torch.Tensor, logvar: torch.Tensor | None, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """A differentiable draw z = μ + σ·ε of N(μ, exp(logvar)); ``mu`` itself when ``logvar`` is None."""
        if logvar is None:
            return mu
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + (0.5 * logvar).exp() * eps

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None, sample: bool = True) -> torch.Tensor:
        mu, logvar = self.stats(x, generator)
        return self.reparameterize(mu, logvar if sample else None, generator)


class Decoder(nn.Module):
    """p(x|z): ``forward(z) -> x̂`` of shape ``(n, data_dim)``.

    ``output="sigmoid"`` maps to [0, 1]; ``logits(z)`` gives the pre-sigmoid values so the
    BCE cost can be computed stably. ``output="linear"`` is for standardized real data.
    """

    def __init__(self, code_dim: int, data_dim: int, hidden: Sequence[int] = (1000, 1000), output: str = "sigmoid"):
        super().__init__()
        if output not in ("sigmoid", "linear"):
            raise AAEError(f"unknown decoder output {output!r}; choose 'sigmoid' or 'linear'")
        self.output = output
        self.net = mlp(code_dim, hidden, data_dim)

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.net(z)
        return torch.sigmoid(h) if self.output == "sigmoid" else h


class Discriminator(nn.Module):
    """D(z[, y]) -> logit of "z came from the prior", shape ``(n,)``.

    With ``n_label_inputs > 0`` it also receives a one-hot label of that width (the
    paper's label-informed regularization: classes plus one "unlabeled" slot).
    """

    def __init__(self, code_dim: int, hidden: Sequence[int] = (1000, 1000), n_label_inputs: int = 0):
        super().__init__()
        self.n_label_inputs = n_label_inputs
        self.net = mlp(code_dim + n_label_inputs, hidden, 1)

    def forward(self, z: torch.Tensor, label_onehot: torch.Tensor | None = None) -> torch.Tensor:
        if self.n_label_inputs:
            z = torch.cat([z, label_onehot], 1)
        return self.net(z).squeeze(1)
