"""Evaluation: reconstruction error, MMD between codes and the prior, label/component agreement,
Parzen-window log-likelihood of generated samples (paper Table 1).

All functions are batched tensor code; inputs are ``(n, d)`` tensors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from aae.data import as_float
from aae.errors import AAEError
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
    """Sum over all pairs (i != j when ``same``) of Σ_h exp(-|a_i - b_j|² / (2 h²)), float64.

    Squared distances by one matrix product per chunk of rows; each row's kernel values are
    summed in float32 and the rows in float64 (summing every pair in float64 took 4x the time of
    the kernels themselves on a CPU thread)."""
    total = torch.zeros((), dtype=torch.float64, device=a.device)
    b2 = (b * b).sum(1)
    coefs = [-1 / (2 * h * h) for h in bandwidths]
    for i in range(0, len(a), chunk):
        ai = a[i : i + chunk]
        d2 = torch.addmm(b2[None, :], ai, b.T, alpha=-2).add_((ai * ai).sum(1)[:, None]).clamp_(min=0)
        for c in coefs:
            total += torch.exp(d2 * c).sum(1).double().sum()
    if same:
        total -= len(a) * len(bandwidths)  # the diagonal, k(a_i, a_i) = 1 per bandwidth
    return total


@torch.no_grad()
def mmd(
    x: torch.Tensor, y: torch.Tensor, bandwidths: Sequence[float] = (0.2, 0.5, 1.0, 2.0, 5.0), chunk: int = 256
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


#: codes per block of :func:`prior_mmd`'s estimate
MMD_BLOCK = 1000


@torch.no_grad()
def block_mmd(
    x: torch.Tensor, y: torch.Tensor, bandwidths: Sequence[float], block: int, generator: torch.Generator | None = None
) -> tuple[float, float | None]:
    """Unbiased squared MMD between ``x`` ``(n, d)`` and ``y`` ``(n, d)`` as the mean of
    :func:`mmd` over ``n // block`` disjoint blocks of (nearly) ``block`` pairs, each drawn at
    random (``generator``), and its standard error over the blocks (None for a single block).

    The same expectation as ``mmd(x, y)`` over all pairs at ``block / n`` of its cost; its
    standard error is about ``sqrt(n / block)`` times the full statistic's.
    """
    if len(x) != len(y):
        raise AAEError(f"block MMD needs as many samples on each side, got {len(x)} and {len(y)}")
    k = max(1, len(x) // block)
    if k == 1:
        return mmd(x, y, bandwidths), None
    px = torch.randperm(len(x), generator=generator).to(x.device)
    py = torch.randperm(len(y), generator=generator).to(y.device)
    parts = zip(torch.tensor_split(x[px], k), torch.tensor_split(y[py], k), strict=True)
    est = torch.tensor([mmd(a, b, bandwidths) for a, b in parts], dtype=torch.float64)
    return float(est.mean()), float(est.std() / math.sqrt(k))


def prior_mmd(
    codes: torch.Tensor, prior: Prior, generator: torch.Generator | None = None, block: int = MMD_BLOCK
) -> tuple[float, float | None]:
    """MMD² between ``codes`` ``(n, d)`` and as many prior samples, bandwidths 0.2-5x the prior's
    scale, and its standard error: :func:`block_mmd` with blocks of ``block`` codes (the
    statistic over all pairs of 10,000 test codes took 20-30 s of a CPU thread; ten blocks of
    1,000 take a tenth of it)."""
    s = prior.scale
    ref = prior.sample(len(codes), generator).to(codes.device)
    return block_mmd(codes, ref, [f * s for f in (0.2, 0.5, 1.0, 2.0, 5.0)], block, generator)


def label_match_fraction(codes: torch.Tensor, labels: torch.Tensor, prior: Prior) -> float:
    """Fraction of codes whose component / segment (``prior.assign``) is their label's."""
    return float((prior.assign(codes).cpu() == labels.cpu()).float().mean())


# ---------------------------------------------------------------- Parzen window (paper Table 1)

#: σ grid searched on the validation split: log-spaced over 0.01 - 3.16 (data in [0, 1])
DEFAULT_PARZEN_SIGMAS = tuple(float(v) for v in np.logspace(-2, 0.5, 21))


def _check_parzen_inputs(samples: torch.Tensor, x: torch.Tensor, sigmas: Sequence[float]) -> None:
    if samples.ndim != 2 or x.ndim != 2:
        raise AAEError(
            f"Parzen window needs 2-D (n, d) samples and points, got shapes {tuple(samples.shape)} and {tuple(x.shape)}"
        )
    m, d = samples.shape
    if x.shape[1] != d:
        raise AAEError(f"Parzen window: samples have {d} dimensions but the points have {x.shape[1]}")
    if m < d:
        raise AAEError(f"Parzen window needs at least as many samples as dimensions: got {m} samples of dimension {d}")
    if len(x) == 0:
        raise AAEError("Parzen window: no points to evaluate")
    if len(sigmas) == 0:
        raise AAEError("Parzen window: the σ grid is empty")
    if not all(math.isfinite(s) and s > 0 for s in sigmas):
        raise AAEError(f"Parzen window: every σ must be a positive number, got {list(sigmas)}")


@torch.no_grad()
def parzen_log_prob(
    samples: torch.Tensor,
    x: torch.Tensor,
    sigmas: Sequence[float],
    batch_size: int = 1000,
    sample_chunk: int = 10000,
) -> torch.Tensor:
    """log p(x_i) in nats under the Parzen window of ``samples`` ``(m, d)``, for each σ: ``(n, len(sigmas))`` float64.

    ``x`` may be uint8 pixels (scaled to [0, 1] block by block, like :func:`aae.data.as_float`).

    p(x) = (1/m) Σ_j N(x; s_j, σ² I), so log p(x) = logsumexp_j(-|x - s_j|²/(2σ²)) - log m - d/2·log(2πσ²).
    Squared distances are computed in float64 (|x|² + |s|² - 2x·s cancels badly in float32
    at the 1/(2σ²) ~ 10 scale of pixel data) for blocks of ``batch_size`` points × ``sample_chunk``
    samples; per-block logsumexps are combined by a logsumexp over blocks.
    """
    _check_parzen_inputs(samples, x, sigmas)
    m, d = samples.shape
    dev = samples.device
    s64 = samples.to(dev, torch.float64)
    s_sq = s64.pow(2).sum(1)
    sig = torch.tensor(list(sigmas), dtype=torch.float64, device=dev)
    inv = 1.0 / (2 * sig * sig)  # (G,)
    const = -math.log(m) - 0.5 * d * torch.log(2 * math.pi * sig * sig)  # (G,)
    out = []
    for xb in x.split(batch_size):
        xb = as_float(xb).to(dev, torch.float64)  # uint8 pixels -> [0, 1], one block at a time
        x_sq = xb.pow(2).sum(1, keepdim=True)
        parts = []  # (G, b) logsumexp of each sample block
        for sb, sb_sq in zip(s64.split(sample_chunk), s_sq.split(sample_chunk)):
            d2 = (x_sq + sb_sq[None] - 2 * xb @ sb.T).clamp_min_(0)  # (b, c)
            parts.append(torch.stack([torch.logsumexp(-d2 * w, 1) for w in inv]))
        out.append(torch.logsumexp(torch.stack(parts), 0).T + const)  # (b, G)
    return torch.cat(out)


def mean_and_sem(values: torch.Tensor) -> tuple[float, float]:
    """Mean of ``values`` ``(n,)`` and its standard error std/√n (n >= 2)."""
    v = values.double()
    return float(v.mean()), float(v.std() / math.sqrt(len(v)))


@torch.no_grad()
def choose_parzen_sigma(
    samples: torch.Tensor,
    x_val: torch.Tensor,
    sigmas: Sequence[float] = DEFAULT_PARZEN_SIGMAS,
    refine: int = 9,
    **chunks: int,
) -> tuple[float, float]:
    """σ maximising the mean validation log-likelihood: (σ, mean LL in nats).

    A search over ``sigmas``, then (``refine > 0``) over ``refine`` log-spaced values between the
    best grid value's neighbours (one grid step beyond it at an edge). Each σ set costs one pass
    over all point/sample distances; the passes evaluate every σ of a set at once, which is
    why this is two grids and not a golden-section search (one pass per evaluation).
    """
    grid = sorted(float(s) for s in sigmas)
    _check_parzen_inputs(samples, x_val, grid)
    ll = parzen_log_prob(samples, x_val, grid, **chunks).mean(0)
    best = int(ll.argmax())
    if refine > 0 and len(grid) > 1:
        ratio_lo = grid[1] / grid[0] if best == 0 else grid[best] / grid[best - 1]
        ratio_hi = grid[-1] / grid[-2] if best == len(grid) - 1 else grid[best + 1] / grid[best]
        lo, hi = grid[best] / ratio_lo, grid[best] * ratio_hi
        fine = [float(v) for v in np.geomspace(lo, hi, refine + 2)[1:-1]]
        fine_ll = parzen_log_prob(samples, x_val, fine, **chunks).mean(0)
        if float(fine_ll.max()) > float(ll[best]):
            i = int(fine_ll.argmax())
            return fine[i], float(fine_ll[i])
    return grid[best], float(ll[best])


@torch.no_grad()
def parzen_evaluate(
    samples: torch.Tensor,
    x_val: torch.Tensor,
    x_test: torch.Tensor,
    sigmas: Sequence[float] = DEFAULT_PARZEN_SIGMAS,
    **chunks: int,
) -> dict[str, float]:
    """Parzen-window log-likelihood of ``x_test`` under ``samples``, σ chosen on ``x_val``.

    Returns ``parzen_ll`` (mean over test points, nats), ``parzen_sem`` (its standard error),
    ``parzen_sigma`` and ``parzen_val_ll`` (the mean over validation points at that σ: what
    settings are compared by, the test figure being read once).
    """
    if len(x_test) < 2:
        raise AAEError(f"Parzen evaluation needs at least 2 test points, got {len(x_test)}")
    sigma, val_ll = choose_parzen_sigma(samples, x_val, sigmas, **chunks)
    ll, sem = mean_and_sem(parzen_log_prob(samples, x_test, [sigma], **chunks)[:, 0])
    return {"parzen_ll": ll, "parzen_sem": sem, "parzen_sigma": sigma, "parzen_val_ll": val_ll}
