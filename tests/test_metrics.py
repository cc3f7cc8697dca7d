import math

import pytest
import torch
from torch.distributions import MultivariateNormal

from aae.errors import AAEError
from aae.metrics import choose_parzen_sigma, mean_and_sem, parzen_evaluate, parzen_log_prob


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def direct_parzen(samples, x, sigma):
    """log (1/m) Σ_j N(x; s_j, σ² I), one point at a time, float64."""
    s64 = samples.double()
    cov = sigma**2 * torch.eye(s64.shape[1], dtype=torch.float64)
    out = []
    for xi in x.double():
        lp = MultivariateNormal(s64, covariance_matrix=cov).log_prob(xi)  # (m,)
        out.append(torch.logsumexp(lp, 0) - math.log(len(s64)))
    return torch.stack(out)


def test_parzen_matches_a_direct_float64_computation_across_chunks():
    samples = torch.rand(53, 6, generator=gen(0))
    x = torch.rand(17, 6, generator=gen(1))
    sigmas = [0.05, 0.2, 1.0]
    got = parzen_log_prob(samples, x, sigmas, batch_size=5, sample_chunk=11)  # ragged blocks both ways
    assert got.shape == (17, 3) and got.dtype == torch.float64
    for g, s in enumerate(sigmas):
        torch.testing.assert_close(got[:, g], direct_parzen(samples, x, s), rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(got, parzen_log_prob(samples, x, sigmas), rtol=1e-12, atol=1e-12)


def test_parzen_distances_are_float64_accurate_far_from_the_origin():
    samples = torch.rand(40, 5, generator=gen(2), dtype=torch.float64)
    x = torch.rand(10, 5, generator=gen(3), dtype=torch.float64)
    near = parzen_log_prob(samples, x, [0.05])
    far = parzen_log_prob(samples + 1000.0, x + 1000.0, [0.05])  # float32 distances would be noise here
    torch.testing.assert_close(far, near, rtol=1e-7, atol=1e-7)


def test_sigma_choice_maximises_the_validation_likelihood():
    # a Parzen window of many Gaussian samples approaches the Gaussian's own log-likelihood
    samples = torch.randn(3000, 2, generator=gen(4))
    x_val, x_test = torch.randn(1000, 2, generator=gen(5)), torch.randn(1000, 2, generator=gen(6))
    grid = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0]
    sigma, val_ll = choose_parzen_sigma(samples, x_val, grid)
    assert 0.1 < sigma < 1.0
    coarse = parzen_log_prob(samples, x_val, grid).mean(0)
    assert val_ll >= float(coarse.max())  # refinement never makes it worse
    assert choose_parzen_sigma(samples, x_val, grid, refine=0) == (0.3, pytest.approx(float(coarse.max())))
    result = parzen_evaluate(samples, x_val, x_test, grid)
    assert result["parzen_sigma"] == sigma and result["parzen_val_ll"] == val_ll
    true_ll = -math.log(2 * math.pi) - 1.0  # E log N(x; 0, I) in 2-D
    assert abs(result["parzen_ll"] - true_ll) < 0.1
    assert 0 < result["parzen_sem"] < 0.1


def test_sigma_at_the_grid_edge_is_refined_beyond_it():
    samples = torch.randn(500, 2, generator=gen(7))
    x_val = torch.randn(300, 2, generator=gen(8))
    sigma, _ = choose_parzen_sigma(samples, x_val, [0.001, 0.002, 0.004])
    assert 0.004 < sigma <= 0.008


def test_mean_and_sem():
    mean, sem = mean_and_sem(torch.tensor([1.0, 2.0, 3.0, 4.0]))
    assert mean == 2.5 and sem == pytest.approx(math.sqrt(5 / 3) / 2)


@pytest.mark.parametrize(
    "samples, x, sigmas, msg",
    [
        (torch.rand(5, 8), torch.rand(3, 8), [0.1], "as many samples as dimensions: got 5 samples of dimension 8"),
        (torch.rand(20, 4), torch.rand(3, 5), [0.1], "samples have 4 dimensions but the points have 5"),
        (torch.rand(20, 4), torch.rand(3, 4), [], "σ grid is empty"),
        (torch.rand(20, 4), torch.rand(3, 4), [0.1, -1.0], "positive number"),
        (torch.rand(20), torch.rand(3, 4), [0.1], "2-D"),
    ],
)
def test_parzen_errors_are_clear(samples, x, sigmas, msg):
    with pytest.raises(AAEError, match=msg):
        parzen_log_prob(samples, x, sigmas)
    with pytest.raises(AAEError, match=msg):
        choose_parzen_sigma(samples, x, sigmas)
