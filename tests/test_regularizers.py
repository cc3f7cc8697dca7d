import math

import pytest
import torch
from torch.distributions import Categorical, Independent, MixtureSameFamily, MultivariateNormal, Normal

from aae.errors import AAEError
from aae.priors import Gaussian, GaussianMixture2D, SwissRoll, Uniform
from aae.regularizers import (
    AdversarialRegularizer,
    KLRegularizer,
    MMDRegularizer,
    gaussian_components,
    kernel_sum,
    pairwise_sq_dists,
    prior_variance,
)
from conftest import gen

PRIORS = [Gaussian(3, std=2.0, mean=0.5), GaussianMixture2D(10, radius=4.0, radial_std=1.0, tangential_std=0.25)]


@pytest.mark.parametrize("prior", PRIORS, ids=["gaussian", "mixture"])
def test_prior_variance_matches_samples(prior):
    z = prior.sample(200_000, gen()).double()
    assert prior_variance(prior) == pytest.approx(float(z.var(0).mean()), rel=0.01)


@pytest.mark.parametrize("prior", PRIORS, ids=["gaussian", "mixture"])
def test_closed_form_prior_expectations_match_large_samples(prior):
    reg = MMDRegularizer(prior, prior.dim, kernel="rbf", closed_form=True)
    z = prior.sample(40, gen(1)) * 1.3 + 0.7  # codes near but not on the prior
    # E_{z'~p} k(z_i, z') against an average over 200,000 prior samples
    p = prior.sample(200_000, gen(2))
    mc = torch.cat([kernel_sum(pairwise_sq_dists(z, c), reg.scales, "rbf") for c in p.split(20_000)], 1).mean(1)
    torch.testing.assert_close(reg.expected_prior_kernel(z), mc, rtol=5e-3, atol=1e-3)
    # E_{z,z'~p} k(z, z') against 200,000 independent pairs
    a, b = prior.sample(200_000, gen(3)), prior.sample(200_000, gen(4))
    kpp = kernel_sum((a - b).pow(2).sum(1), reg.scales, "rbf").mean()
    assert reg._kpp == pytest.approx(float(kpp), rel=5e-3)


@pytest.mark.parametrize("prior", PRIORS, ids=["gaussian", "mixture"])
def test_closed_form_and_sampled_mmd_agree_in_expectation(prior):
    exact = MMDRegularizer(prior, prior.dim, kernel="rbf", closed_form=True)
    sampled = MMDRegularizer(prior, prior.dim, kernel="rbf")
    z = prior.sample(100, gen(5)) + 1.0
    g = gen(6)
    estimates = torch.stack([sampled.mmd(z, g) for _ in range(200)])
    target = exact.mmd(z)
    assert float(target) > 0.05
    assert abs(float(estimates.mean() - target)) < 3 * float(estimates.std()) / math.sqrt(200) + 1e-3


@pytest.mark.parametrize("kernel, closed_form", [("imq", False), ("rbf", False), ("rbf", True)])
def test_mmd_is_near_zero_on_the_prior_and_large_off_it(kernel, closed_form):
    prior = Gaussian(4, std=2.0)
    reg = MMDRegularizer(prior, 4, kernel=kernel, closed_form=closed_form)
    on = torch.stack([reg.mmd(prior.sample(200, gen(s)), gen(100 + s)) for s in range(20)]).mean()
    off = reg.mmd(prior.sample(200, gen(7)) * 0.3 + 2.0, gen(8))
    assert abs(float(on)) < 0.02 and float(off) > 20 * max(abs(float(on)), 1e-3)


def test_mmd_gradient_pulls_codes_towards_the_prior():
    prior = Gaussian(2, std=1.0)
    reg = MMDRegularizer(prior, 2)
    z = (torch.randn(100, 2, generator=gen(0)) * 0.2 + 3.0).requires_grad_()
    opt = torch.optim.SGD([z], lr=20.0)
    first = float(reg.mmd(z.detach(), gen(999)))
    for i in range(300):
        loss = reg.mmd(z, gen(i))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(reg.mmd(z.detach(), gen(999))) < 0.02 * first
    # the median distance to the origin is the prior's, sqrt(2 ln 2) = 1.18
    assert 0.9 < float(z.detach().norm(dim=1).median()) < 1.5


def test_mmd_scales_follow_the_prior():
    reg = MMDRegularizer(Gaussian(8, std=5.0), 8, scales=[0.5, 1.0])
    assert reg.scales == pytest.approx([2 * 8 * 25 * 0.5, 2 * 8 * 25 * 1.0])


def test_gaussian_components_of_the_mixture_are_its_petals():
    prior = GaussianMixture2D(4, radius=2.0, radial_std=1.0, tangential_std=0.1)
    w, means, covs = gaussian_components(prior)
    assert w.shape == (4,) and means.shape == (4, 2) and covs.shape == (4, 2, 2)
    # component 1 sits at 90°: its long (radial) axis is y
    torch.testing.assert_close(covs[1], torch.tensor([[0.01, 0.0], [0.0, 1.0]], dtype=torch.float64))
    assert gaussian_components(Uniform(2)) is None


def test_mmd_errors_are_clear():
    with pytest.raises(AAEError, match="needs the Gaussian kernel"):
        MMDRegularizer(Gaussian(2), 2, kernel="imq", closed_form=True)
    with pytest.raises(AAEError, match="SwissRoll has no closed-form"):
        MMDRegularizer(SwissRoll(), 2, kernel="rbf", closed_form=True)
    with pytest.raises(AAEError, match="dimension 2 but the code size is 3"):
        MMDRegularizer(Gaussian(2), 3)
    with pytest.raises(AAEError, match="codes of size 2 got codes of shape"):
        MMDRegularizer(Gaussian(2), 2).mmd(torch.zeros(10, 3))
    with pytest.raises(AAEError, match="unknown mmd_kernel"):
        MMDRegularizer(Gaussian(2), 2, kernel="laplace")
    with pytest.raises(AAEError, match="non-empty list"):
        MMDRegularizer(Gaussian(2), 2, scales=[])


def random_posterior(n=64, d=2, seed=0):
    g = gen(seed)
    return torch.randn(n, d, generator=g) * 2, torch.randn(n, d, generator=g) - 1


def test_kl_against_a_gaussian_prior_is_the_closed_form():
    mu, logvar = random_posterior(d=3)
    prior = Gaussian(3, std=3.0, mean=0.5)
    q = Independent(Normal(mu, (0.5 * logvar).exp()), 1)
    p = Independent(Normal(torch.full((3,), 0.5), torch.full((3,), 3.0)), 1)
    ref = torch.distributions.kl_divergence(q, p).mean()
    torch.testing.assert_close(KLRegularizer(prior, 3).kl(mu, logvar), ref, rtol=1e-5, atol=1e-5)


def test_kl_monte_carlo_against_a_one_component_mixture_matches_the_closed_form():
    # one isotropic component at (r, 0) is the Gaussian N((r, 0), s² I)
    prior = GaussianMixture2D(1, radius=3.0, radial_std=1.5, tangential_std=1.5)
    reg = KLRegularizer(prior, 2)
    mu, logvar = random_posterior(n=8)
    g = gen(1)
    mc = torch.stack([reg.kl(mu, logvar, generator=g) for _ in range(4000)]).mean()
    q = Independent(Normal(mu, (0.5 * logvar).exp()), 1)
    p = Independent(Normal(torch.tensor([3.0, 0.0]), torch.full((2,), 1.5)), 1)
    ref = torch.distributions.kl_divergence(q, p).mean()
    assert float(mc) == pytest.approx(float(ref), rel=0.01)


def test_kl_monte_carlo_against_a_mixture_matches_an_independent_estimate():
    prior = GaussianMixture2D(10, radius=4.0)
    reg = KLRegularizer(prior, 2)
    mu, logvar = random_posterior(n=4, seed=3)
    w, means, covs = gaussian_components(prior)
    p = MixtureSameFamily(Categorical(w.float()), MultivariateNormal(means.float(), covs.float()))
    q = Independent(Normal(mu, (0.5 * logvar).exp()), 1)
    z = q.sample((50_000,))  # (S, n, 2)
    ref = (q.log_prob(z) - p.log_prob(z)).mean()
    g = gen(2)
    mc = torch.stack([reg.kl(mu, logvar, generator=g) for _ in range(20_000)]).mean()
    assert float(mc) == pytest.approx(float(ref), rel=0.02)


def test_kl_is_differentiable_and_zero_at_the_prior():
    prior = Gaussian(2, std=2.0)
    reg = KLRegularizer(prior, 2)
    mu = torch.zeros(5, 2, requires_grad=True)
    logvar = torch.full((5, 2), math.log(4.0), requires_grad=True)
    assert abs(float(reg.kl(mu, logvar).detach())) < 1e-6
    (reg.kl(mu + 1, logvar)).backward()
    assert mu.grad.abs().sum() > 0 and torch.isfinite(logvar.grad).all()


def test_kl_errors_are_clear():
    with pytest.raises(AAEError, match="Gaussian or Gaussian-mixture prior"):
        KLRegularizer(Uniform(2), 2)
    with pytest.raises(AAEError, match="network.encoder=gaussian"):
        KLRegularizer(Gaussian(2), 2).penalty(torch.zeros(4, 2), (torch.zeros(4, 2), None))
    with pytest.raises(AAEError, match="codes of size 2"):
        KLRegularizer(Gaussian(2), 2).kl(torch.zeros(4, 3), torch.zeros(4, 3))


def test_discriminator_input_noise_hides_softness_from_the_discriminator():
    """With instance noise a discriminator cannot tell one-hot prior samples from slightly soft codes."""
    from aae.priors import Categorical as CategoricalPrior

    torch.manual_seed(0)
    k, n = 4, 512
    # fake codes: the same categories as the prior, smoothed (what a softmax head gives)
    fake = 0.9 * torch.nn.functional.one_hot(torch.randint(0, k, (n,)), k).float() + 0.1 / k
    accs = {}
    for noise in (0.0, 0.3):
        torch.manual_seed(1)
        reg = AdversarialRegularizer(CategoricalPrior(k), k, (32,), input_noise=noise)
        opt = torch.optim.Adam(reg.discriminator.parameters(), 1e-2)
        g = torch.Generator().manual_seed(2)
        for _ in range(300):
            loss, acc = reg.discriminator_loss(fake, None, g)
            opt.zero_grad()
            loss.backward()
            opt.step()
        accs[noise] = float(torch.stack([reg.discriminator_loss(fake, None, g)[1] for _ in range(10)]).mean())
    assert accs[0.0] > 0.95  # the softness gives the fakes away
    assert accs[0.3] < 0.75  # under the noise it barely shows
    # the generator loss sees the same noise: reproducible from the generator, different without it
    a = reg.generator_loss(fake, None, torch.Generator().manual_seed(3))
    b = reg.generator_loss(fake, None, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and not torch.equal(a, reg.generator_loss(fake, None, torch.Generator().manual_seed(4)))
    with pytest.raises(AAEError, match="noise"):
        AdversarialRegularizer(CategoricalPrior(k), k, (32,), input_noise=-0.1)
