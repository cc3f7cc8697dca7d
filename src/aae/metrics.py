"""Evaluation: reconstruction error, MMD between codes and the prior, label/component agreement.

All functions are batched tensor code; inputs are ``(n, d)`` tensors.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from aae.data import as_float
from aae.priors import Prior


@torch.no_grad()
def batched(fn, x: torch.Tensor, batch_size: int = 2000) -> torch.Tensor:
    """Apply ``fn`` to ``x`` in chunks of rows and concatenate the results."""
    return torch.cat([fn(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])


@torch.no_grad()
def reconstruction_mse(model, x: torch.Tensor, y: torch.Tensor | None = None, batch_size: int = 2000) -> float:
    """Mean squared error per data dimension between ``x`` and ``model.reconstruct(x, y)``.

    ``y`` (labels) matters only to models whose decoder takes the label (the supervised AAE).
    ``x`` may be uint8 pixels; each batch is converted with :func:`aae.data.as_float`.
    """
    total = 0.0
    for i in range(0, len(x), batch_size):
        xb = as_float(x[i : i + batch_size])
        xr = model.reconstruct(xb, None if y is None else y[i : i + batch_size])
        total += float(((xr.float() - xb) ** 2).sum())
    return total / x.numel()


def _kernel_sum(a: torch.Tensor, b: torch.Tensor, bandwidths: Sequence[float], same: bool, chunk: int) -> torch.Tensor:
    """Sum over all pairs (i != j when ``same``) of Σ_h exp(-|a_i - b_j|² / (2 h²))."""
    total = torch.zeros((), dtype=torch.float64, device=a.device)
    for i in range(0, len(a), chunk):
        d2 = torch.cdist(a[i : i + chunk], b).pow(2)
        k = sum(torch.exp(-d2 / (2 * h * h)) for h in bandwidths)
        total += k.double().sum()
    if same:
        total -= len(a) * len(bandwidths)  # the diagonal, k(a_i, a_i) = 1 per bandwidth
    return total


@torch.no_grad()
def mmd(
    x: torch.Tensor, y: torch.Tensor, bandwidths: Sequence[float] = (0.2, 0.5, 1.0, 2.0, 5.0), chunk: int = 2048
) -> float:
    """Unbiased squared MMD between samples ``x`` ``(n, d)`` and ``y`` ``(m, d)``.

    Gaussian kernels, summed over ``bandwidths`` (in code units). 0 when the two
    distributions are equal (up to sampling noise, which can make it slightly negative).
    """
    x, y = x.float(), y.float()
    n, m = len(x), len(y)
    kxx = _kernel_sum(x, x, bandwidths, True, chunk) / (n * (n - 1))
    kyy = _kernel_sum(y, y, bandwidths, True, chunk) / (m * (m - 1))
    kxy = _kernel_sum(x, y, bandwidths, False, chunk) / (n * m)
    return float(kxx + kyy - 2 * kxy)


def prior_mmd(codes: torch.Tensor, prior: Prior, generator: torch.Generator | None = None) -> float:
    """MMD between ``codes`` and as many prior samples, bandwidths scaled to the prior's size."""
    s = prior.scale
    ref = prior.sample(len(codes), generator).to(codes.device)
    return mmd(codes, ref, bandwidths=[f * s for f in (0.2, 0.5, 1.0, 2.0, 5.0)])


def label_match_fraction(codes: torch.Tensor, labels: torch.Tensor, prior: Prior) -> float:
    """Fraction of codes whose component / segment (``prior.assign``) is their label's."""
    return float((prior.assign(codes).cpu() == labels.cpu()).float().mean())
