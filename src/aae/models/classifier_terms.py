"""Extra terms of the semi-supervised classification phase (``Config.semisupervised``), beside the
paper's cross-entropy on labeled examples.

- Virtual adversarial training (Miyato et al. 2018): the KL divergence between q(y|x) and
  q(y|x + r_adv), r_adv the perturbation of L2 norm ``eps`` that changes q(y|x) most, found by
  one step of power iteration. It makes q(y|x) smooth around the unlabeled data.
- Entropy minimization (Grandvalet and Bengio 2005): the mean entropy of q(y|x) on unlabeled data.
- Translations of the labeled images by a few pixels (``labeled_shift``): more views of the few
  labels, which VAT's perturbations of a fixed radius do not give.
- Mixup (Zhang et al. 2018) of the labeled batch: convex combinations of labeled images and of
  their targets, so q(y|x) moves linearly between labeled examples instead of bending round one.
- The sigmoid ramp-up of a consistency weight (Tarvainen & Valpola 2017), for the mean teacher.

VAT and entropy minimization run with batch norm's running statistics frozen: the perturbed
passes are not data the evaluation should be normalized with.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from scipy.special import betaincinv
from torch import nn

from aae.config import Config
from aae.errors import AAEError
from aae.networks import shift_images, shift_shape


def labeled_shape(cfg: Config, image_shape: Sequence[int] | None, data_dim: int) -> tuple[int, int, int] | None:
    """``(c, h, w)`` of the labeled images that ``semisupervised.labeled_shift`` translates (None
    when it is 0); refused, naming the key, for data that are no images."""
    return shift_shape(cfg.semisupervised.labeled_shift, image_shape, data_dim, "semisupervised.labeled_shift")


def shift_labeled(
    xl: torch.Tensor, chw: tuple[int, int, int] | None, shift: int, generator: torch.Generator | None
) -> torch.Tensor:
    """The labeled images ``xl`` ``(m, c·h·w)`` translated by up to ``shift`` pixels (``labeled_shift``;
    ``chw`` from :func:`labeled_shape`); ``xl`` itself when ``shift`` is 0."""
    if shift and chw is None:
        raise AAEError("semisupervised.labeled_shift translates images: the model needs labeled_chw, their shape")
    return shift_images(xl, chw, shift, generator)


@contextmanager
def frozen_batchnorm_stats(module: nn.Module) -> Iterator[None]:
    """Inside, batch norm layers of ``module`` normalize with batch statistics (training mode) but
    leave their running statistics, and their count of batches, as they are."""
    layers = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [(m.momentum, None if m.num_batches_tracked is None else m.num_batches_tracked.clone()) for m in layers]
    for m in layers:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, (momentum, count) in zip(layers, saved):
            m.momentum = momentum
            if count is not None:
                m.num_batches_tracked.copy_(count)


@contextmanager
def no_dropout(module: nn.Module) -> Iterator[None]:
    """Inside, the dropout layers of ``module`` pass their input through (as in evaluation)."""
    layers = [m for m in module.modules() if isinstance(m, nn.modules.dropout._DropoutNd) and m.training]
    for m in layers:
        m.eval()
    try:
        yield
    finally:
        for m in layers:
            m.train()


def _unit(d: torch.Tensor) -> torch.Tensor:
    """Each row of ``d`` ``(n, d)`` scaled to L2 norm 1."""
    return d / (d.flatten(1).norm(dim=1, keepdim=True) + 1e-12)


def vat_loss(
    logits_of: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    eps: float | torch.Tensor,
    xi: float = 1e-3,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The local distributional smoothness term: KL(q(y|x) || q(y|x + r_adv)), averaged over the batch.

    ``logits_of(x)`` ``(n, d) -> (n, K)`` must be deterministic (no input noise, no dropout): the
    power iteration reads the change of its output under a perturbation of norm ``xi``, which any
    noise of its own would drown. The target q(y|x) is computed here and not differentiated;
    ``eps`` is the perturbation's L2 norm in data units (a float, or ``(n, 1)``: one per row),
    ``xi`` the finite-difference step. The power iteration runs in float32 whatever the caller's
    autocast: in bf16, ``x + xi * d`` rounds back to ``x`` and the direction found would be noise.
    """
    with torch.autocast(x.device.type, enabled=False):
        x32 = x.float()
        with torch.no_grad():
            log_p = torch.log_softmax(logits_of(x32).float(), 1)
        d = torch.randn(x32.shape, generator=generator, device=x.device, dtype=x32.dtype)
        d = (xi * _unit(d)).requires_grad_()
        dist = F.kl_div(torch.log_softmax(logits_of(x32 + d).float(), 1), log_p, log_target=True, reduction="batchmean")
        (grad,) = torch.autograd.grad(dist, d)
    r_adv = (eps * _unit(grad.detach())).to(x.dtype)
    return F.kl_div(torch.log_softmax(logits_of(x + r_adv).float(), 1), log_p, log_target=True, reduction="batchmean")


def sigmoid_rampup(epochs_done: float, length: float) -> float:
    """The factor exp(−5 (1 − t)²), t = ``epochs_done`` / ``length`` clipped to [0, 1], that a
    consistency weight is ramped up by (Tarvainen & Valpola 2017; Laine & Aila 2017): exp(−5) ≈
    0.0067 at the start, 1 from ``length`` epochs on; 1 throughout when ``length`` is 0."""
    if length <= 0:
        return 1.0
    t = min(max(epochs_done / length, 0.0), 1.0)
    return math.exp(-5.0 * (1.0 - t) ** 2)


def balance_cost(q: torch.Tensor, balance_weight: float, sharpness_weight: float) -> torch.Tensor:
    """IMSAT's batch-level clustering cost of memberships ``q`` ``(n, K)``, in nats:
    ``balance_weight`` × (log K − H(mean q)) + ``sharpness_weight`` × mean H(q); 0 at its optimum."""
    mean = q.mean(0)
    spread = math.log(q.shape[1]) + (mean * torch.log(mean.clamp_min(1e-12))).sum()
    sharp = -(q * torch.log(q.clamp_min(1e-12))).sum(1).mean()
    return balance_weight * spread + sharpness_weight * sharp


def mean_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Mean entropy of the softmax of ``logits`` ``(n, K)``, in nats."""
    log_q = torch.log_softmax(logits.float(), 1)
    return -(log_q.exp() * log_q).sum(1).mean()


def mixup(
    x: torch.Tensor, targets: torch.Tensor, alpha: float, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row of ``x`` ``(n, d)`` and of ``targets`` ``(n, K)`` (class probabilities) mixed with
    the same partner row, a random permutation of the batch: λ·row + (1 − λ)·partner, one weight
    λ ~ Beta(``alpha``, ``alpha``) per row (drawn from ``generator`` through the inverse CDF, so a
    seeded generator replays it). Returns the mixed ``(x, targets)``."""
    n = x.shape[0]
    device = x.device if generator is None else generator.device
    u = torch.rand(n, generator=generator, device=device, dtype=torch.float64)
    lam = torch.from_numpy(betaincinv(alpha, alpha, u.cpu().numpy())).to(x.device)
    partner = torch.randperm(n, generator=generator, device=device).to(x.device)
    lx = lam.to(x.dtype).view(n, *([1] * (x.dim() - 1)))
    lt = lam.to(targets.dtype).view(n, 1)
    return lx * x + (1 - lx) * x[partner], lt * targets + (1 - lt) * targets[partner]
