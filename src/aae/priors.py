"""Priors p(z) to impose on the code: anything with ``sample(n, generator, labels)``.

Every prior returns float32 tensors of shape ``(n, dim)`` on the generator's device.
``labels`` (shape ``(n,)``, int) asks for the component / segment tied to each class
(paper §2.3); a label of ``-1`` means "unlabeled" and draws from the whole prior.
Priors with a closed-form density also give ``log_prob(z) -> (n,)`` in nats.
"""

from __future__ import annotations

import importlib
import inspect
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from aae.errors import AAEError

__all__ = [
    "Prior",
    "Gaussian",
    "GaussianMixture2D",
    "SwissRoll",
    "Uniform",
    "Categorical",
    "SamplerPrior",
    "make_prior",
    "PRIORS",
    "single_gaussian",
]


def _device(generator: torch.Generator | None) -> torch.device:
    return generator.device if generator is not None else torch.device("cpu")


class Prior:
    """Base class. Subclasses set ``dim`` and implement ``_sample``."""

    dim: int
    #: number of classes that label-conditioned sampling can address (0: none)
    n_classes: int = 0

    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        labels: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Draw ``n`` codes, shape ``(n, dim)``; ``labels`` (``(n,)``, -1 = any) pick components."""
        if labels is not None:
            if self.n_classes == 0:
                raise AAEError(
                    f"prior {type(self).__name__} has no per-class components; "
                    "label-conditioned sampling needs a mixture, swiss roll or categorical prior"
                )
            labels = torch.as_tensor(labels).to(_device(generator))
            if labels.shape != (n,):
                raise AAEError(f"labels must have shape ({n},), got {tuple(labels.shape)}")
            if len(labels) and int(labels.max()) >= self.n_classes:
                raise AAEError(
                    f"label {int(labels.max())} out of range for prior "
                    f"{type(self).__name__} with {self.n_classes} classes"
                )
        return self._sample(n, generator, labels)

    def _sample(self, n, generator, labels):  # pragma: no cover - abstract
        raise NotImplementedError

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """Log-density of ``z`` (shape ``(n, dim)``) in nats, shape ``(n,)``."""
        raise AAEError(f"prior {type(self).__name__} has no closed-form density")

    def assign(self, z: torch.Tensor) -> torch.Tensor:
        """Index of the component / segment each code belongs to, shape ``(n,)``."""
        raise AAEError(f"prior {type(self).__name__} has no components to assign codes to")

    @property
    def scale(self) -> float:
        """A typical length in code space (used to set kernel bandwidths)."""
        return 1.0

    def gaussian_components(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
        """The prior as a mixture of Gaussians, where it is one: (weights ``(k,)``, means ``(k, dim)``,
        covariances ``(k, dim, dim)``), float64; None (the default) where it is not.

        What a prior declares here is all the library reads of it: a prior of the user's that
        declares its components gets the same closed forms as the built-in Gaussians (the VAE's KL
        against a single Gaussian, the WAE's exact prior-side kernel terms, the kernel scales'
        variance, the Gaussian-percentile grid of the manifold figure).
        """
        return None


def single_gaussian(prior: Prior) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(mean ``(dim,)``, variance ``(dim,)``), float64, of a prior that declares one Gaussian component
    with a diagonal covariance; None for any other prior."""
    comps = prior.gaussian_components()
    if comps is None or len(comps[0]) != 1:
        return None
    _, means, covs = comps
    var = covs[0].diagonal()
    if not torch.equal(covs[0], torch.diag(var)):
        return None
    return means[0], var


def _resolve_labels(labels, n, k, generator):
    """Replace missing / -1 labels by a uniformly drawn component."""
    dev = _device(generator)
    drawn = torch.randint(0, k, (n,), generator=generator, device=dev)
    if labels is None:
        return drawn
    return torch.where(labels >= 0, labels.long(), drawn)


class Gaussian(Prior):
    """Isotropic Gaussian N(mean, std² I) of dimension ``dim``."""

    def __init__(self, dim: int, std: float = 1.0, mean: float = 0.0):
        if std <= 0:
            raise AAEError(f"gaussian prior std must be > 0, got {std}")
        self.dim, self.std, self.mean = int(dim), float(std), float(mean)

    def _sample(self, n, generator, labels):
        z = torch.randn(n, self.dim, generator=generator, device=_device(generator))
        return z * self.std + self.mean

    def log_prob(self, z):
        u = (z - self.mean) / self.std
        return -0.5 * (u * u).sum(1) - self.dim * (math.log(self.std) + 0.5 * math.log(2 * math.pi))

    @property
    def scale(self):
        return self.std

    def gaussian_components(self):
        eye = torch.eye(self.dim, dtype=torch.float64)
        return (
            torch.ones(1, dtype=torch.float64),
            torch.full((1, self.dim), self.mean, dtype=torch.float64),
            (self.std**2 * eye)[None],
        )


class GaussianMixture2D(Prior):
    """k 2-D Gaussians with means on a circle of ``radius`` (paper Fig. 2b, 4a).

    Each component is elongated along its radius: std ``radial_std`` outward and
    ``tangential_std`` around the circle, so the components look like petals.
    Component ``i`` sits at angle ``2πi/k`` and is tied to class ``i``.
    """

    dim = 2

    def __init__(
        self,
        n_components: int = 10,
        radius: float = 4.0,
        radial_std: float = 1.0,
        tangential_std: float = 0.25,
    ):
        if n_components < 1:
            raise AAEError(f"mixture prior needs n_components >= 1, got {n_components}")
        if radial_std <= 0 or tangential_std <= 0:
            raise AAEError("mixture prior stds must be > 0")
        if radius < 0:
            raise AAEError(f"mixture prior radius must be >= 0, got {radius}")
        self.n_components = self.n_classes = int(n_components)
        self.radius, self.radial_std, self.tangential_std = radius, radial_std, tangential_std
        angle = 2 * math.pi * torch.arange(self.n_components, dtype=torch.float64) / n_components
        self.means = torch.stack([angle.cos(), angle.sin()], 1) * radius  # (k, 2)
        # rotation taking the (radial, tangential) frame to (x, y), per component: (k, 2, 2)
        self.rot = torch.stack(
            [torch.stack([angle.cos(), -angle.sin()], 1), torch.stack([angle.sin(), angle.cos()], 1)],
            1,
        )
        self.stds = torch.tensor([radial_std, tangential_std], dtype=torch.float64)

    def _sample(self, n, generator, labels):
        dev = _device(generator)
        comp = _resolve_labels(labels, n, self.n_components, generator)
        eps = torch.randn(n, 2, generator=generator, device=dev) * self.stds.float().to(dev)
        rot = self.rot.float().to(dev)[comp]
        return torch.einsum("nij,nj->ni", rot, eps) + self.means.float().to(dev)[comp]

    def component_log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log N(z | component i) for every component, shape ``(n, k)``."""
        d = z.double()[:, None, :] - self.means.to(z.device)  # (n, k, 2)
        # back to the (radial, tangential) frame: R^T d
        local = torch.einsum("kji,nkj->nki", self.rot.to(z.device), d)
        u = local / self.stds.to(z.device)
        logdet = torch.log(self.stds).sum()
        return (-0.5 * (u * u).sum(-1) - logdet - math.log(2 * math.pi)).to(z.dtype)

    def log_prob(self, z):
        return torch.logsumexp(self.component_log_prob(z), 1) - math.log(self.n_components)

    def assign(self, z):
        return self.component_log_prob(z).argmax(1)

    @property
    def scale(self):
        return self.radius

    def gaussian_components(self):
        k = self.n_components
        # Σ_i = R_i diag(σ_radial², σ_tangential²) R_iᵀ
        covs = self.rot @ torch.diag_embed(self.stds.pow(2)).expand(k, 2, 2) @ self.rot.transpose(1, 2)
        return torch.full((k,), 1.0 / k, dtype=torch.float64), self.means.clone(), covs


class SwissRoll(Prior):
    """2-D swiss roll (paper Fig. 4c): a spiral of ``turns`` turns, cut into ``n_classes`` segments.

    A point at position ``u ∈ [0, 1)`` along the roll is at radius ``scale·√u`` and angle
    ``2π·turns·√u`` (so points are uniform in arc length, roughly); class ``i`` owns
    ``u ∈ [i/k, (i+1)/k)``. ``noise`` adds isotropic Gaussian jitter of that std.
    """

    dim = 2

    def __init__(self, n_classes: int = 10, turns: float = 2.0, radius: float = 3.0, noise: float = 0.0):
        if n_classes < 1:
            raise AAEError(f"swiss roll needs n_classes >= 1, got {n_classes}")
        if turns <= 0 or radius <= 0 or noise < 0:
            raise AAEError(f"swiss roll needs turns > 0, radius > 0 and noise >= 0, got {turns}, {radius}, {noise}")
        self.n_classes, self.turns, self.radius, self.noise = int(n_classes), turns, radius, noise

    def _curve(self, u: torch.Tensor) -> torch.Tensor:
        s = u.sqrt()
        theta = 2 * math.pi * self.turns * s
        return torch.stack([theta.cos(), theta.sin()], 1) * (self.radius * s)[:, None]

    def _sample(self, n, generator, labels):
        dev = _device(generator)
        u = torch.rand(n, generator=generator, device=dev)
        if labels is not None:
            seg = labels.long()
            u = torch.where(seg >= 0, (seg.clamp(min=0) + u) / self.n_classes, u)
        z = self._curve(u)
        if self.noise > 0:
            z = z + self.noise * torch.randn(n, 2, generator=generator, device=dev)
        return z

    def assign(self, z):
        # nearest point of a dense sampling of the curve, then its segment
        u = (torch.arange(4000, device=z.device, dtype=torch.float32) + 0.5) / 4000
        curve = self._curve(u)
        nearest = torch.cdist(z.float(), curve).argmin(1)
        return (u[nearest] * self.n_classes).long().clamp(max=self.n_classes - 1)

    @property
    def scale(self):
        return self.radius / 2


class Uniform(Prior):
    """Uniform on the cube ``[low, high]^dim``."""

    def __init__(self, dim: int, low: float = -1.0, high: float = 1.0):
        if not high > low:
            raise AAEError(f"uniform prior needs high > low, got low={low}, high={high}")
        self.dim, self.low, self.high = int(dim), float(low), float(high)

    def _sample(self, n, generator, labels):
        u = torch.rand(n, self.dim, generator=generator, device=_device(generator))
        return self.low + (self.high - self.low) * u

    def log_prob(self, z):
        inside = ((z >= self.low) & (z <= self.high)).all(1)
        lp = torch.full((len(z),), -self.dim * math.log(self.high - self.low), device=z.device)
        return torch.where(inside, lp, torch.full_like(lp, -math.inf))

    @property
    def scale(self):
        return (self.high - self.low) / math.sqrt(12)


class Categorical(Prior):
    """One-hot vectors of dimension ``dim`` drawn with probabilities ``probs`` (uniform by default)."""

    def __init__(self, dim: int, probs: list[float] | None = None):
        self.dim = self.n_classes = int(dim)
        p = torch.full((self.dim,), 1.0 / self.dim) if probs is None else torch.tensor(probs, dtype=torch.float32)
        if p.shape != (self.dim,) or (p < 0).any() or abs(float(p.sum()) - 1) > 1e-5:
            raise AAEError(f"categorical probs must be {self.dim} non-negative numbers summing to 1, got {probs}")
        self.probs = p

    def _sample(self, n, generator, labels):
        dev = _device(generator)
        drawn = torch.multinomial(self.probs.to(dev), n, replacement=True, generator=generator)
        idx = drawn if labels is None else torch.where(labels >= 0, labels.long(), drawn)
        return torch.nn.functional.one_hot(idx, self.dim).float()

    def log_prob(self, z):
        idx = z.argmax(1)
        is_onehot = ((z == 0) | (z == 1)).all(1) & (z.sum(1) == 1)
        lp = self.probs.to(z.device).log()[idx]
        return torch.where(is_onehot, lp, torch.full_like(lp, -math.inf))

    def assign(self, z):
        return z.argmax(1)


class SamplerPrior(Prior):
    """Wraps any callable ``f(n, generator) -> (n, dim)`` array or tensor as a prior.

    Each draw is checked: wrong shape or non-finite values raise :class:`AAEError`
    naming the sampler, never a shape error from deep inside the model.
    """

    def __init__(self, fn: Callable, dim: int, name: str | None = None):
        self.fn, self.dim = fn, int(dim)
        self.name = name or getattr(fn, "__qualname__", repr(fn))
        self.sample(2)  # fail early, before any training starts

    def _sample(self, n, generator, labels):
        try:
            z = self.fn(n, generator)
        except AAEError:
            raise
        except Exception as e:
            raise AAEError(f"sampler {self.name} failed: {type(e).__name__}: {e}") from e
        if isinstance(z, np.ndarray):
            z = torch.from_numpy(z)
        if not isinstance(z, torch.Tensor):
            raise AAEError(f"sampler {self.name} returned {type(z).__name__}, expected a tensor or array")
        if tuple(z.shape) != (n, self.dim):
            raise AAEError(
                f"sampler {self.name} returned shape {tuple(z.shape)} for n={n}, expected ({n}, {self.dim}) "
                f"(the code size)"
            )
        z = z.float().to(_device(generator))
        if not torch.isfinite(z).all():
            raise AAEError(f"sampler {self.name} returned NaN or Inf values")
        return z

    @property
    def scale(self):
        return float(self.sample(1000).std(0).mean())


PRIORS: dict[str, type[Prior]] = {
    "gaussian": Gaussian,
    "mixture": GaussianMixture2D,
    "swissroll": SwissRoll,
    "uniform": Uniform,
    "categorical": Categorical,
}


def load_callable(spec: str) -> Callable:
    """Import ``"package.module:function"`` and return the function."""
    mod_name, _, attr = spec.partition(":")
    if not mod_name or not attr:
        raise AAEError(f"a sampler must be given as 'module:function', got {spec!r}")
    try:
        obj: Any = importlib.import_module(mod_name)
    except ImportError as e:
        raise AAEError(f"cannot import module {mod_name!r} for sampler {spec!r}: {e}") from e
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise AAEError(f"module {mod_name!r} has no attribute {attr!r} (sampler {spec!r})")
        obj = getattr(obj, part)
    if not callable(obj):
        raise AAEError(f"sampler {spec!r} is not callable")
    return obj


def make_prior(name: str | Callable | Prior, dim: int, **kwargs: Any) -> Prior:
    """Build a prior for codes of size ``dim`` from a name, a ``module:function`` or a callable.

    Raises :class:`AAEError` on an unknown name, unknown parameters or a dimension that
    does not match ``dim``.
    """
    if isinstance(name, Prior):
        prior = name
    elif callable(name):
        return SamplerPrior(name, dim)
    elif ":" in name:
        return SamplerPrior(load_callable(name), dim, name)
    elif name not in PRIORS:
        raise AAEError(f"unknown prior {name!r}; choose one of {sorted(PRIORS)} or give 'module:function'")
    else:
        cls = PRIORS[name]
        params = inspect.signature(cls.__init__).parameters
        unknown = sorted(set(kwargs) - set(params))
        if unknown:
            allowed = sorted(p for p in params if p not in ("self", "dim"))
            raise AAEError(f"prior {name!r} has no parameter(s) {unknown}; it takes {allowed}")
        bad = {k: v for k, v in kwargs.items() if isinstance(v, float) and not math.isfinite(v)}
        if bad:
            raise AAEError(f"prior {name!r}: parameter(s) {bad} must be finite numbers")
        if "dim" in params:
            kwargs = {"dim": dim, **kwargs}
        try:
            prior = cls(**kwargs)
        except TypeError as e:
            raise AAEError(f"bad parameters for prior {name!r}: {e}") from e
    if prior.dim != dim:
        raise AAEError(
            f"prior {name!r} has dimension {prior.dim} but the code size is {dim}; "
            f"set network.code_dim={prior.dim} or choose another prior"
        )
    return prior
