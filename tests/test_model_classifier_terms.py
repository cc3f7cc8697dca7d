"""The extra terms of the classification phase (aae.models.classifier_terms)."""

import math

import pytest
import torch

from aae.models.classifier_terms import frozen_batchnorm_stats, mean_entropy, mixup, sigmoid_rampup, vat_loss


def test_vat_finds_the_most_sensitive_direction_of_a_linear_classifier():
    """For q(y|x) = softmax(Wx) with two classes, the output changes fastest along w1 - w0; a
    perturbation there of norm eps costs much more than a random one of the same norm."""
    torch.manual_seed(0)
    w = torch.zeros(2, 10)
    w[1, 3] = 4.0  # only feature 3 matters
    x = torch.zeros(64, 10)

    def logits_of(v):
        return v @ w.T

    g = torch.Generator().manual_seed(0)
    lds = vat_loss(logits_of, x, eps=0.5, xi=1e-3, generator=g)
    p = torch.softmax(logits_of(x), 1)
    step = torch.zeros(10)
    step[3] = 0.5  # the worst case: the whole norm on feature 3
    worst = torch.nn.functional.kl_div(torch.log_softmax(logits_of(x + step), 1), p, reduction="batchmean")
    torch.testing.assert_close(lds, worst, rtol=1e-3, atol=1e-6)
    random_dir = torch.randn(10, generator=g)
    random_dir = 0.5 * random_dir / random_dir.norm()
    other = torch.nn.functional.kl_div(torch.log_softmax(logits_of(x + random_dir), 1), p, reduction="batchmean")
    assert float(lds) > 3 * float(other)


def test_vat_grows_with_eps_and_is_differentiable():
    lin = torch.nn.Linear(5, 3)
    x = torch.rand(8, 5)
    sizes = [float(vat_loss(lin, x, eps=e, generator=torch.Generator().manual_seed(0)).detach()) for e in (0.1, 1, 3)]
    assert 0 <= sizes[0] < sizes[1] < sizes[2]
    loss = vat_loss(lin, x, eps=1.0, generator=torch.Generator().manual_seed(0))
    loss.backward()
    assert lin.weight.grad is not None and float(lin.weight.grad.abs().sum()) > 0


def test_vat_finds_the_same_direction_under_bf16_autocast():
    """Away from 0, ``x + 1e-6 * d`` rounds to ``x`` in bf16: the power iteration must not run in it."""
    w = torch.zeros(2, 10)
    w[1, 3] = 4.0
    x = torch.full((64, 10), 0.5)

    def logits_of(v):
        return v @ w.T

    def lds(bf16):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            return float(vat_loss(logits_of, x, eps=0.5, generator=torch.Generator().manual_seed(0)))

    assert lds(True) == pytest.approx(lds(False), rel=0.05)
    assert lds(False) > 0.05  # the worst case (feature 3), not a random direction's ~0.005


def test_vat_default_step_survives_float32_rounding_on_images():
    """On 784 pixels in [0, 1] a perturbation of norm 1e-6 is mostly rounded away in float32 (about
    4e-8 per pixel against a spacing of 6e-8 at 0.5): the default step must find the direction a
    large step finds on a linear classifier, where any step finds the same one."""
    torch.manual_seed(0)
    w = torch.randn(2, 784)
    x = torch.rand(64, 784)

    def logits_of(v):
        return 0.1 * v @ w.T

    def lds(**xi):
        return float(vat_loss(logits_of, x, eps=0.5, generator=torch.Generator().manual_seed(0), **xi))

    assert lds() == pytest.approx(lds(xi=0.1), rel=0.02)


def test_mean_entropy():
    uniform = torch.zeros(4, 10)
    torch.testing.assert_close(mean_entropy(uniform), torch.log(torch.tensor(10.0)))
    assert float(mean_entropy(torch.tensor([[100.0, 0.0, 0.0]]))) < 1e-6


def test_frozen_batchnorm_stats_normalizes_with_the_batch_but_keeps_the_running_ones():
    bn = torch.nn.BatchNorm1d(3).train()
    before = bn.running_mean.clone()
    with frozen_batchnorm_stats(bn):
        out = bn(torch.rand(16, 3) + 5)
    assert torch.equal(bn.running_mean, before) and bn.momentum == 0.1
    torch.testing.assert_close(out.mean(0), torch.zeros(3), atol=1e-5, rtol=0)


def test_vat_takes_one_radius_per_row():
    """``eps`` ``(n, 1)`` perturbs each row by its own norm: rows all given the float's radius cost
    what the float costs, rows given 0 cost nothing."""
    lin = torch.nn.Linear(5, 3)
    x = torch.rand(6, 5)

    def cost(eps):
        return float(vat_loss(lin, x, eps=eps, generator=torch.Generator().manual_seed(0)).detach())

    radii = torch.full((6, 1), 0.8)
    assert cost(radii) == pytest.approx(cost(0.8), rel=1e-6)
    radii[3:] = 0.0
    assert 0 < cost(radii) < cost(0.8)


def mixed_weights(alpha: float, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mix the rows of the identity ``(n, n)`` (so each mixed row shows its weight and its partner)
    with random targets; returns (λ per row, partner per row, targets, mixed targets)."""
    t = torch.softmax(torch.randn(n, 3, generator=torch.Generator().manual_seed(99)), 1)
    xm, tm = mixup(torch.eye(n), t, alpha, torch.Generator().manual_seed(seed))
    lam = xm.diagonal().clone()
    partner = (xm - torch.diag(lam)).argmax(1)
    partner[lam == 1] = torch.arange(n)[lam == 1]  # mixed with itself (or λ = 1)
    return lam, partner, t, tm


def test_mixup_mixes_each_row_and_its_target_with_one_partner_by_one_weight():
    lam, partner, t, tm = mixed_weights(0.4, 64, seed=0)
    assert bool(((lam >= 0) & (lam <= 1)).all())
    # the target is mixed by the same weight with the same partner as the image
    assert torch.allclose(tm, lam[:, None] * t + (1 - lam[:, None]) * t[partner], atol=1e-6)
    assert torch.allclose(tm.sum(1), torch.ones(64))
    assert sorted(partner[lam < 1].tolist()) == sorted(set(partner[lam < 1].tolist()))  # a permutation
    # replayed by the same seed, changed by another
    assert torch.equal(mixed_weights(0.4, 64, seed=0)[0], lam)
    assert not torch.equal(mixed_weights(0.4, 64, seed=1)[0], lam)


@pytest.mark.parametrize("alpha", [0.3, 1.0, 8.0])
def test_mixup_weight_is_beta_distributed(alpha):
    """λ ~ Beta(α, α): mean 1/2, variance 1 / (4(2α + 1)), from 4,000 rows."""
    lam = mixed_weights(alpha, 4000, seed=2)[0].double()
    assert abs(float(lam.mean()) - 0.5) < 0.02
    assert float(lam.var()) == pytest.approx(1 / (4 * (2 * alpha + 1)), rel=0.1)


def test_sigmoid_rampup_rises_from_exp_minus_5_to_one_and_stays():
    assert sigmoid_rampup(0.0, 4.0) == pytest.approx(math.exp(-5.0))
    assert sigmoid_rampup(2.0, 4.0) == pytest.approx(math.exp(-1.25))
    assert sigmoid_rampup(4.0, 4.0) == sigmoid_rampup(9.5, 4.0) == 1.0
    values = [sigmoid_rampup(e / 10, 4.0) for e in range(41)]
    assert values == sorted(values)  # never falls on the way up
    assert sigmoid_rampup(0.0, 0.0) == 1.0  # no ramp-up: the full weight from the first step
