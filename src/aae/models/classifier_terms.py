"""Extra terms of the semi-supervised classification phase (``Config.semisupervised``), beside the
paper's cross-entropy on labeled examples.

- Virtual adversarial training (Miyato et al. 2018): the KL divergence between q(y|x) and
  q(y|x + r_adv), r_adv the perturbation of L2 norm ``eps`` that changes q(y|x) most, found by
  one step of power iteration. It makes q(y|x) smooth around the unlabeled data.
- Entropy minimization (Grandvalet and Bengio 2005): the mean entropy of q(y|x) on unlabeled data.

Both run with batch norm's running statistics frozen: the perturbed passes are not data the
evaluation should be normalized with.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn


@contextmanager
def frozen_batchnorm_stats(module: nn.Module) -> Iterator[None]:
    """Inside, batch norm layers of ``module`` normalize with batch statistics (training mode) but
    leave their running statistics as they are (momentum 0)."""
    layers = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in layers]
    for m in layers:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, momentum in zip(layers, saved):
            m.momentum = momentum


def _unit(d: torch.Tensor) -> torch.Tensor:
    """Each row of ``d`` ``(n, d)`` scaled to L2 norm 1."""
    return d / (d.flatten(1).norm(dim=1, keepdim=True) + 1e-12)


def vat_loss(
    logits_of: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    logits: torch.Tensor,
    eps: float,
    xi: float = 1e-6,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The local distributional smoothness term: KL(q(y|x) || q(y|x + r_adv)), averaged over the batch.

    ``logits_of(x)`` ``(n, d) -> (n, K)``; ``logits`` are q(y|x)'s logits at ``x`` (the target, not
    differentiated); ``eps`` is the perturbation's L2 norm in data units, ``xi`` the finite-difference
    step of the power iteration.
    """
    p = torch.softmax(logits.detach().float(), 1)
    log_p = torch.log_softmax(logits.detach().float(), 1)
    d = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    d = (xi * _unit(d)).requires_grad_()
    dist = F.kl_div(torch.log_softmax(logits_of(x + d).float(), 1), log_p, log_target=True, reduction="batchmean")
    (grad,) = torch.autograd.grad(dist, d)
    r_adv = eps * _unit(grad.detach())
    return F.kl_div(torch.log_softmax(logits_of(x + r_adv).float(), 1), p, reduction="batchmean")


def mean_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Mean entropy of the softmax of ``logits`` ``(n, K)``, in nats."""
    log_q = torch.log_softmax(logits.float(), 1)
    return -(log_q.exp() * log_q).sum(1).mean()
