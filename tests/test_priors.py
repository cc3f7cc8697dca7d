import math

import numpy as np
import pytest
import torch

from aae.errors import AAEError
from aae.priors import (
    Categorical,
    Gaussian,
    GaussianMixture2D,
    SamplerPrior,
    SwissRoll,
    Uniform,
    make_prior,
)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_gaussian_moments_and_log_prob():
    p = Gaussian(8, std=5.0)
    z = p.sample(20000, gen())
    assert z.shape == (20000, 8) and z.dtype == torch.float32
    assert z.mean(0).abs().max() < 0.15
    assert (z.std(0) - 5.0).abs().max() < 0.1
    ref = torch.distributions.Normal(0.0, 5.0).log_prob(z).sum(1)
    torch.testing.assert_close(p.log_prob(z), ref, rtol=1e-5, atol=1e-4)


def test_sampling_is_reproducible_from_the_generator():
    p = GaussianMixture2D()
    torch.testing.assert_close(p.sample(50, gen(3)), p.sample(50, gen(3)))
    assert not torch.equal(p.sample(50, gen(3)), p.sample(50, gen(4)))


def test_mixture_components_on_a_circle_and_label_conditioning():
    p = GaussianMixture2D(n_components=10, radius=4.0, radial_std=0.5, tangential_std=0.1)
    labels = torch.arange(10).repeat_interleave(1000)
    z = p.sample(len(labels), gen(), labels=labels)
    means = torch.stack([z[labels == k].mean(0) for k in range(10)])
    angles = 2 * math.pi * torch.arange(10) / 10
    expected = 4.0 * torch.stack([angles.cos(), angles.sin()], 1)
    assert (means - expected).norm(dim=1).max() < 0.1
    # each sample lies in its own component, and the component is elongated radially
    assert (p.assign(z) == labels).float().mean() > 0.99
    comp0 = z[labels == 0]  # sits on the x axis: radial = x, tangential = y
    assert abs(comp0[:, 0].std() - 0.5) < 0.05 and abs(comp0[:, 1].std() - 0.1) < 0.02
    # unlabeled (-1) draws from all components evenly
    free = p.assign(p.sample(10000, gen(1), labels=torch.full((10000,), -1)))
    counts = torch.bincount(free, minlength=10).float()
    assert counts.min() > 850 and counts.max() < 1150


def test_mixture_log_prob_matches_torch_distributions():
    p = GaussianMixture2D(n_components=5, radius=3.0, radial_std=0.7, tangential_std=0.2)
    ang = 2 * math.pi * torch.arange(5, dtype=torch.float64) / 5
    rot = torch.stack([torch.stack([ang.cos(), -ang.sin()], 1), torch.stack([ang.sin(), ang.cos()], 1)], 1)
    cov = rot @ torch.diag(torch.tensor([0.49, 0.04], dtype=torch.float64)) @ rot.transpose(1, 2)
    ref = torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(torch.ones(5, dtype=torch.float64)),
        torch.distributions.MultivariateNormal(3.0 * torch.stack([ang.cos(), ang.sin()], 1), cov),
    )
    z = p.sample(500, gen()).double()
    torch.testing.assert_close(p.log_prob(z), ref.log_prob(z), rtol=1e-6, atol=1e-6)


def test_swissroll_segments_follow_labels():
    p = SwissRoll(n_classes=10, turns=2.0, radius=3.0)
    labels = torch.arange(10).repeat_interleave(300)
    z = p.sample(len(labels), gen(), labels=labels)
    assert z.shape == (3000, 2)
    assert (p.assign(z) == labels).float().mean() > 0.98
    r = z.norm(dim=1)
    assert r.max() <= 3.0 + 1e-5
    # later segments are further out along the roll
    mean_r = torch.stack([r[labels == k].mean() for k in range(10)])
    assert (mean_r[1:] > mean_r[:-1]).all()


def test_uniform_bounds_moments_and_density():
    p = Uniform(3, low=-2.0, high=1.0)
    z = p.sample(30000, gen())
    assert z.min() >= -2.0 and z.max() <= 1.0
    assert (z.mean(0) + 0.5).abs().max() < 0.03
    assert (p.log_prob(z) == -3 * math.log(3.0)).all()
    assert p.log_prob(torch.tensor([[5.0, 0.0, 0.0]]))[0] == -math.inf


def test_categorical_one_hot_frequencies_and_labels():
    p = Categorical(4, probs=[0.1, 0.2, 0.3, 0.4])
    z = p.sample(40000, gen())
    assert ((z == 0) | (z == 1)).all() and (z.sum(1) == 1).all()
    freq = z.mean(0)
    torch.testing.assert_close(freq, torch.tensor([0.1, 0.2, 0.3, 0.4]), atol=0.01, rtol=0)
    lab = torch.tensor([2, 0, -1, 3])
    zl = p.sample(4, gen(), labels=lab)
    assert zl[0, 2] == 1 and zl[1, 0] == 1 and zl[3, 3] == 1
    torch.testing.assert_close(p.log_prob(z[:3]), torch.log(torch.tensor([0.1, 0.2, 0.3, 0.4]))[z[:3].argmax(1)])


def test_label_errors():
    with pytest.raises(AAEError, match="no per-class components"):
        Gaussian(2).sample(3, labels=torch.zeros(3, dtype=torch.long))
    with pytest.raises(AAEError, match="out of range"):
        GaussianMixture2D(n_components=3).sample(2, labels=torch.tensor([0, 5]))
    with pytest.raises(AAEError, match="shape"):
        GaussianMixture2D().sample(3, labels=torch.tensor([0, 1]))


def test_make_prior_by_name_and_errors():
    assert isinstance(make_prior("gaussian", 8, std=5), Gaussian)
    assert make_prior("categorical", 10).dim == 10
    with pytest.raises(AAEError, match="unknown prior 'gausian'"):
        make_prior("gausian", 2)
    with pytest.raises(AAEError, match="no parameter"):
        make_prior("gaussian", 2, sigma=3)
    with pytest.raises(AAEError, match="dimension 2 but the code size is 8"):
        make_prior("mixture", 8)
    with pytest.raises(AAEError, match="std must be > 0"):
        make_prior("gaussian", 2, std=0)


def ring_sampler(n, generator=None):
    """A user prior: points on the unit circle (used through 'module:function')."""
    theta = torch.rand(n, generator=generator) * 2 * math.pi
    return torch.stack([theta.cos(), theta.sin()], 1)


def test_user_callable_and_module_function():
    p = make_prior(ring_sampler, 2)
    z = p.sample(100, gen())
    torch.testing.assert_close(z.norm(dim=1), torch.ones(100))
    q = make_prior("test_priors:ring_sampler", 2)
    assert isinstance(q, SamplerPrior) and q.sample(5).shape == (5, 2)
    numpy_prior = make_prior(lambda n, g: np.zeros((n, 3)), 3)
    assert numpy_prior.sample(4).dtype == torch.float32


def test_user_sampler_errors():
    with pytest.raises(AAEError, match=r"returned shape \(2, 3\).*expected \(2, 2\)"):
        make_prior(lambda n, g: torch.zeros(n, 3), 2)
    with pytest.raises(AAEError, match="NaN"):
        make_prior(lambda n, g: torch.full((n, 2), float("nan")), 2)
    with pytest.raises(AAEError, match="failed: ZeroDivisionError"):
        make_prior(lambda n, g: 1 / 0, 2)
    with pytest.raises(AAEError, match="cannot import module"):
        make_prior("no_such_module_xyz:f", 2)
    with pytest.raises(AAEError, match="has no attribute"):
        make_prior("math:no_such_fn", 2)
