import math

import pytest
import torch
from torch.distributions import MultivariateNormal

from aae.errors import AAEError
from aae.metrics import block_mmd, choose_parzen_sigma, mean_and_sem, mmd, parzen_evaluate, parzen_log_prob
from conftest import gen


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


def _mmd_reference(x: torch.Tensor, y: torch.Tensor, bandwidths) -> float:
    """The unbiased MMD² written out in float64 over every pair, as a check on the chunked kernel sums."""
    x, y = x.double(), y.double()

    def k(a, b):
        d2 = torch.cdist(a, b).pow(2)
        return sum(torch.exp(-d2 / (2 * h * h)) for h in bandwidths)

    n, m = len(x), len(y)
    kxx, kyy = k(x, x).fill_diagonal_(0).sum() / (n * (n - 1)), k(y, y).fill_diagonal_(0).sum() / (m * (m - 1))
    return float(kxx + kyy - 2 * k(x, y).mean())


def test_mmd_matches_the_float64_statistic_over_every_pair():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(700, 3, generator=g) * 1.2, torch.randn(500, 3, generator=g)
    bw = (0.2, 0.5, 1.0, 2.0, 5.0)
    assert mmd(x, y, bw, chunk=64) == pytest.approx(_mmd_reference(x, y, bw), rel=1e-4, abs=1e-7)


@pytest.mark.parametrize("scale", [1.0, 1.3])
def test_block_mmd_agrees_with_the_full_statistic_within_its_standard_error(scale):
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(4000, 2, generator=g) * scale, torch.randn(4000, 2, generator=g)
    bw = (0.2, 0.5, 1.0, 2.0, 5.0)
    full = mmd(x, y, bw)
    est, se = block_mmd(x, y, bw, 400, torch.Generator().manual_seed(2))
    assert se is not None and 0 < se < 0.05
    assert abs(est - full) < 4 * se
    if scale > 1:
        assert est > 5 * se  # a real mismatch stands out of the noise


def test_block_mmd_standard_error_is_the_spread_of_its_estimates():
    x = torch.randn(2000, 2, generator=torch.Generator().manual_seed(3)) * 1.1
    bw = (0.5, 1.0, 2.0)
    runs = [block_mmd(x, torch.randn(2000, 2, generator=torch.Generator().manual_seed(10 + s)), bw, 200,
                      torch.Generator().manual_seed(s)) for s in range(20)]  # fmt: skip
    spread = torch.tensor([e for e, _ in runs]).std()
    mean_se = sum(se for _, se in runs) / len(runs)
    assert 0.5 < float(spread) / mean_se < 2.0


def test_block_mmd_of_one_block_is_the_full_statistic():
    g = torch.Generator().manual_seed(4)
    x, y = torch.randn(300, 2, generator=g), torch.randn(300, 2, generator=g)
    assert block_mmd(x, y, (1.0,), 1000) == (mmd(x, y, (1.0,)), None)
    with pytest.raises(AAEError, match="as many samples on each side, got 300 and 200"):
        block_mmd(x, y[:200], (1.0,), 100)
