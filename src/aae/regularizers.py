"""Latent regularizers: what pushes the aggregated posterior q(z) towards the prior p(z).

:class:`AdversarialRegularizer` is the AAE's (paper §2): a discriminator tells prior
samples (label 1) from codes (label 0); the encoder, as generator, learns to fool it.
With ``n_classes > 0`` the discriminator also receives a one-hot label with an extra
slot for unlabeled examples, and each labeled example's prior sample comes from its
class's component (paper §2.3).

:class:`MMDRegularizer` (WAE-MMD) and :class:`KLRegularizer` (VAE) are penalties added to
the reconstruction cost instead: no discriminator, one phase.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from aae.errors import AAEError
from aae.networks import Discriminator
from aae.priors import Prior, single_gaussian

Tensor, Generator = torch.Tensor, torch.Generator
#: a Gaussian encoder's (mean, log-variance) of q(z|x), each (n, d); the log-variance None for the deterministic kinds
Stats = tuple[torch.Tensor, torch.Tensor | None]


class AdversarialRegularizer(nn.Module):
    """Discriminator-based match of codes ``z`` (``(n, d)``) to ``prior``."""

    def __init__(
        self,
        prior: Prior,
        code_dim: int,
        hidden: Sequence[int] = (1000, 1000),
        n_classes: int = 0,
        label_weight: float = 1.0,
        input_noise: float = 0.0,
    ):
        super().__init__()
        if input_noise < 0:
            raise AAEError(f"discriminator input noise must be >= 0, got {input_noise}")
        self.prior, self.n_classes, self.label_weight = prior, n_classes, label_weight
        self.input_noise = input_noise
        self.discriminator = Discriminator(code_dim, hidden, n_label_inputs=n_classes + 1 if n_classes else 0)

    def _noisy(self, z: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """``z`` plus Gaussian noise of std ``input_noise`` (instance noise), as the discriminator sees it.

        With the same noise on prior samples and codes the discriminator cannot win on details
        the noise hides (e.g. one-hot prior samples vs slightly soft encoder outputs) and has to
        tell the distributions apart at a coarser scale, which keeps its gradient informative.
        """
        if not self.input_noise:
            return z
        noise = torch.randn(z.shape, generator=generator, device=z.device, dtype=torch.float32)
        return z + (self.input_noise * noise).to(z.dtype)

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
        # a prior with per-class components draws each real sample from its label's component; a
        # prior without them (a label-aware discriminator on a shared prior) draws it from the whole
        labels = y if self.n_classes and self.prior.n_classes else None
        real = self.prior.sample(len(z), generator, labels=labels).to(z.dtype)
        onehot = self._onehot(y)
        both = self._noisy(torch.cat([real, z], 0), generator)
        logits = self.discriminator(both, None if onehot is None else torch.cat([onehot, onehot], 0))
        target = torch.cat([torch.ones(len(z), device=z.device), torch.zeros(len(z), device=z.device)])
        w = self._weights(y)
        loss = F.binary_cross_entropy_with_logits(logits.float(), target, None if w is None else torch.cat([w, w]))
        acc = ((logits > 0).float() == target).float().mean()
        return loss, acc

    def generator_loss(
        self, z: torch.Tensor, y: torch.Tensor | None, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Non-saturating generator loss: -log D(z)."""
        logits = self.discriminator(self._noisy(z, generator), self._onehot(y))
        target = torch.ones_like(logits, dtype=torch.float32)
        return F.binary_cross_entropy_with_logits(logits.float(), target, self._weights(y))


# ---------------------------------------------------------------- penalty regularizers
#
# The WAE and the VAE add a penalty to the reconstruction cost and train encoder and
# decoder together in one phase. Both follow one contract: ``penalty(z, mu, logvar,
# generator)`` returns the unweighted penalty (a scalar) and ``weight`` multiplies it.

#: the kernels of the MMD: inverse multiquadratics | Gaussian (the WAE paper's two)
MMD_KERNELS = ("imq", "rbf")
#: kernel scale factors s of the WAE paper: C = 2·d·σ²·s
DEFAULT_MMD_SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


def gaussian_components(prior: Prior) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """``prior`` as a Gaussian mixture (:meth:`~aae.priors.Prior.gaussian_components`): (weights
    ``(k,)``, means ``(k, d)``, covariances ``(k, d, d)``), float64; None for other priors."""
    return prior.gaussian_components()


def prior_variance(prior: Prior) -> float:
    """Mean per-dimension variance σ² of ``prior`` (closed form for Gaussians and mixtures, else 10,000 samples)."""
    comps = gaussian_components(prior)
    if comps is not None:
        w, means, covs = comps
        mean = (w[:, None] * means).sum(0)
        within = (w * covs.diagonal(dim1=1, dim2=2).sum(1)).sum()
        between = (w * (means - mean).pow(2).sum(1)).sum()
        return float(within + between) / prior.dim
    # a fixed generator keeps the kernel scales (and so training) reproducible
    z = prior.sample(10000, torch.Generator().manual_seed(0)).double()
    return float(z.var(0).mean())


def pairwise_sq_dists(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``(n, m)`` squared distances between rows of ``a`` ``(n, d)`` and ``b`` ``(m, d)``.

    By differences, not ``|a|² + |b|² - 2ab``: exact (no cancellation, never negative) and
    cheap at mini-batch sizes.
    """
    return (a[:, None, :] - b[None, :, :]).pow(2).sum(-1)


def kernel_sum(d2: torch.Tensor, scales: Sequence[float], kind: str) -> torch.Tensor:
    """Σ over scales C of k_C at squared distances ``d2``: ``imq`` C/(C + d²), ``rbf`` exp(-d²/C)."""
    if kind == "imq":
        return sum(c / (c + d2) for c in scales)
    return sum(torch.exp(-d2 / c) for c in scales)


class MMDRegularizer(nn.Module):
    """λ·MMD²(q(z), p(z)) between a mini-batch of codes and the prior (WAE-MMD, Tolstikhin et al. 2018).

    Kernels are summed over scales C = 2·d·σ²·s for ``s`` in ``scales`` (σ² the prior's
    per-dimension variance, d the code size): inverse multiquadratics ``imq`` k = C/(C + |x-y|²)
    (the WAE paper's choice: heavy tails keep gradients alive for codes far from the prior)
    or Gaussian ``rbf`` k = exp(-|x-y|²/C). The code-code term is the unbiased U-statistic.
    The prior-side terms are estimated from as many prior samples as codes, or, with
    ``closed_form=True`` (``rbf`` kernel and a Gaussian or Gaussian-mixture prior), computed
    exactly: E_{z'~p} k(z, z') and E_{z,z'~p} k(z, z') are Gaussian convolutions.
    """

    name = "mmd"

    def __init__(
        self,
        prior: Prior,
        code_dim: int,
        weight: float = 10.0,
        kernel: str = "imq",
        scales: Sequence[float] = DEFAULT_MMD_SCALES,
        closed_form: bool = False,
    ):
        super().__init__()
        if kernel not in MMD_KERNELS:
            raise AAEError(f"unknown mmd_kernel {kernel!r}; choose one of {list(MMD_KERNELS)}")
        if not scales or any(s <= 0 for s in scales):
            raise AAEError(f"mmd_scales must be a non-empty list of positive numbers, got {list(scales)}")
        if prior.dim != code_dim:
            raise AAEError(f"the prior has dimension {prior.dim} but the code size is {code_dim}")
        self.prior, self.code_dim, self.weight, self.kernel = prior, code_dim, float(weight), kernel
        self.scales = [2.0 * code_dim * prior_variance(prior) * s for s in scales]
        self.closed_form = closed_form
        if closed_form:
            if kernel != "rbf":
                raise AAEError("mmd_closed_form=true needs the Gaussian kernel: set mmd_kernel=rbf")
            comps = gaussian_components(prior)
            if comps is None:
                raise AAEError(
                    f"mmd_closed_form=true needs a Gaussian or Gaussian-mixture prior; prior "
                    f"{type(prior).__name__} has no closed-form kernel expectations (set mmd_closed_form=false)"
                )
            self._prior_terms(*comps)
        self._device_cache: dict[torch.device, tuple[torch.Tensor, ...]] = {}

    def _prior_terms(self, w: torch.Tensor, means: torch.Tensor, covs: torch.Tensor) -> None:
        """Precompute (float64) what the closed form needs for each scale C and component i.

        With exp(-|u|²/C) = (πC)^{d/2} N(u; 0, C/2·I):
          E_{z'~N(m,Σ)} k(z, z') = det(I + 2Σ/C)^{-1/2} exp(-½ (z-m)ᵀ (Σ + C/2·I)^{-1} (z-m))
        and for z ~ N(m_i, Σ_i), z' ~ N(m_j, Σ_j) the same with m = m_i - m_j, Σ = Σ_i + Σ_j.
        """
        d = self.code_dim
        eye = torch.eye(d, dtype=torch.float64)
        c = torch.tensor(self.scales, dtype=torch.float64)[:, None, None, None]  # (S, 1, 1, 1)
        a = covs[None] + c / 2 * eye  # (S, k, d, d)
        self._prec = torch.linalg.inv(a)
        # log of w_i · det(I + 2Σ_i/C)^{-1/2}
        self._log_coef = w.log()[None] - 0.5 * torch.linalg.slogdet(eye + 2 * covs[None] / c)[1]  # (S, k)
        self._means = means
        delta = means[:, None, :] - means[None, :, :]  # (k, k, d)
        pair_cov = covs[:, None] + covs[None, :]  # (k, k, d, d)
        c5 = c[..., None]  # (S, 1, 1, 1, 1)
        b = pair_cov[None] + c5 / 2 * eye  # (S, k, k, d, d)
        quad = (delta[None] * torch.linalg.solve(b, delta[None].expand(len(self.scales), -1, -1, -1))).sum(-1)
        logdet = torch.linalg.slogdet(eye + 2 * pair_cov[None] / c5)[1]  # (S, k, k)
        ww = w[:, None] * w[None, :]
        self._kpp = float((ww * torch.exp(-0.5 * logdet - 0.5 * quad)).sum())

    def _terms_on(self, device: torch.device) -> tuple[torch.Tensor, ...]:
        if device not in self._device_cache:
            self._device_cache[device] = tuple(t.float().to(device) for t in (self._prec, self._log_coef, self._means))
        return self._device_cache[device]

    def expected_prior_kernel(self, z: torch.Tensor) -> torch.Tensor:
        """Closed form of Σ_C E_{z'~p} k_C(z_i, z') for each code, shape ``(n,)`` (``closed_form`` only)."""
        prec, log_coef, means = self._terms_on(z.device)
        diff = z[:, None, :] - means[None]  # (n, k, d)
        quad = torch.einsum("nki,skij,nkj->nsk", diff, prec, diff)
        return torch.logsumexp(log_coef[None] - 0.5 * quad, 2).exp().sum(1)

    def mmd(self, z: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Estimate of MMD²(q, p) from codes ``z`` ``(n, d)``, n >= 2 (scalar, float32, differentiable in ``z``)."""
        if z.ndim != 2 or z.shape[1] != self.code_dim:
            raise AAEError(f"MMD regularizer for codes of size {self.code_dim} got codes of shape {tuple(z.shape)}")
        n = len(z)
        if n < 2:
            raise AAEError("the MMD needs at least 2 codes per mini-batch")
        z = z.float()
        off = 1.0 - torch.eye(n, device=z.device)
        kzz = (kernel_sum(pairwise_sq_dists(z, z), self.scales, self.kernel) * off).sum() / (n * (n - 1))
        if self.closed_form:
            return kzz + self._kpp - 2 * self.expected_prior_kernel(z).mean()
        p = self.prior.sample(n, generator).to(z)
        kpp = (kernel_sum(pairwise_sq_dists(p, p), self.scales, self.kernel) * off).sum() / (n * (n - 1))
        kzp = kernel_sum(pairwise_sq_dists(z, p), self.scales, self.kernel).mean()
        return kzz + kpp - 2 * kzp

    def penalty(self, z: torch.Tensor, stats: Stats | None = None, generator: Generator | None = None) -> Tensor:
        """MMD² of the codes ``z`` ``(n, d)`` against the prior; ``stats`` (the encoder's mean and
        log-variance) unused."""
        return self.mmd(z, generator)


class KLRegularizer(nn.Module):
    """KL(q(z|x) || p(z)) of a Gaussian encoder, averaged over the batch (the VAE; weight β).

    Against a Gaussian prior N(m, s²I) (any std) the KL is in closed form; against a
    Gaussian-mixture prior, which has none, it is the one-sample Monte-Carlo estimate
    log q(z|x) - log p(z) at the reparameterised code z (unbiased, differentiable).
    """

    name = "kl"

    def __init__(self, prior: Prior, code_dim: int, weight: float = 1.0):
        super().__init__()
        if prior.gaussian_components() is None:
            raise AAEError(
                f"the KL regularizer needs a Gaussian or Gaussian-mixture prior (a density positive everywhere); "
                f"got {type(prior).__name__}, which declares no Gaussian components (Prior.gaussian_components)"
            )
        if prior.dim != code_dim:
            raise AAEError(f"the prior has dimension {prior.dim} but the code size is {code_dim}")
        self.prior, self.code_dim, self.weight = prior, code_dim, float(weight)

    def kl(
        self,
        mu: torch.Tensor,
        logvar: torch.Tensor,
        z: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Mean over the batch of KL(N(mu, exp(logvar)) || p), nats (scalar). ``mu``, ``logvar``, ``z``: ``(n, d)``.

        ``z`` (a sample of q(z|x)) is used by the Monte-Carlo estimate; drawn here if not given.
        """
        if mu.shape != logvar.shape or mu.ndim != 2 or mu.shape[1] != self.code_dim:
            raise AAEError(
                f"KL regularizer for codes of size {self.code_dim} got mean {tuple(mu.shape)}, "
                f"log-variance {tuple(logvar.shape)}"
            )
        mu, logvar = mu.float(), logvar.float()
        single = single_gaussian(self.prior)
        if single is not None:  # one Gaussian N(m, diag(s²)): the closed form
            m, s2 = (t.to(mu.device, torch.float32) for t in single)
            kl = 0.5 * ((logvar.exp() + (mu - m).pow(2)) / s2 - 1.0 - logvar + torch.log(s2))
            return kl.sum(1).mean()
        if z is None:
            eps = torch.randn(mu.shape, generator=generator, device=mu.device)
            z = mu + (0.5 * logvar).exp() * eps
        z = z.float()
        log_q = -0.5 * (((z - mu).pow(2) / logvar.exp()) + logvar + math.log(2 * math.pi)).sum(1)
        return (log_q - self.prior.log_prob(z)).mean()

    def penalty(self, z: torch.Tensor, stats: Stats | None = None, generator: Generator | None = None) -> Tensor:
        """KL of q(z|x) given by ``stats`` = (mean, log-variance), each ``(n, d)``, at its sample ``z``."""
        if stats is None or stats[1] is None:
            raise AAEError("the KL regularizer needs a Gaussian encoder: set network.encoder=gaussian")
        return self.kl(*stats, z, generator)


PenaltyRegularizer = MMDRegularizer | KLRegularizer
