"""Model ``clustering`` (aae.models.clustering)."""

import math

import pytest
import torch

from aae.classification import cluster_labels, majority_labels
from aae.config import OptimConfig
from aae.errors import AAEError
from aae.models import build_model
from model_helpers import one_step, prefixes
from model_helpers import tiny_categorical as tiny_cat


def test_clustering_has_no_classification_phase_and_k_clusters():
    cfg = tiny_cat("clustering", n_clusters=7)
    model = build_model(cfg, 20, 4)
    changed, order, _ = one_step(model, cfg)
    assert order == ["recon", "disc", "gen"]
    assert model.predict_proba(torch.rand(5, 20)).shape == (5, 7)
    assert model.heads().shape == (7, 20)
    assert model.sample(3, torch.Generator().manual_seed(0), labels=torch.tensor([0, 6, 2])).shape == (3, 20)


def test_balance_term_spreads_a_collapsed_batch_over_the_clusters():
    """With every example in one cluster the balance term is log K and its gradient moves mass to
    the empty clusters; a confident, even batch costs nothing."""
    cfg = tiny_cat("clustering", n_clusters=4)
    cfg.clustering.balance_weight, cfg.clustering.sharpness_weight = 1.0, 0.5
    model = build_model(cfg, 20, 4)
    collapsed = torch.tensor([[0.97, 0.01, 0.01, 0.01]] * 8, requires_grad=True)
    cost = model._balance(collapsed)
    assert float(cost.detach()) > 0.9 * math.log(4)
    cost.backward()
    assert collapsed.grad[:, 0].mean() > 0 > collapsed.grad[:, 1:].mean()  # descent lowers cluster 0
    even = torch.eye(4).repeat(2, 1)
    assert float(model._balance(even)) < 1e-6
    _, order, metrics = one_step(model, cfg)
    assert order == ["recon", "disc", "gen"] and "balance_loss" in metrics


def test_cluster_vat_is_a_deterministic_smoothness_cost_that_leaves_batchnorm_and_dropout_as_they_were():
    """VAT's passes see no dropout and no input noise (the same draw gives the same cost), do not
    move batch norm's running statistics, and its cost reaches the encoder in the gen phase."""
    cfg = tiny_cat("clustering", n_clusters=4, dropout=0.5, batchnorm=True, input_noise=0.3)
    cfg.clustering.vat_weight, cfg.clustering.vat_eps = 2.0, 0.5
    torch.manual_seed(0)
    model = build_model(cfg, 20, 4).train()
    x = torch.rand(16, 20)
    stats = [b.clone() for b in model.encoder.buffers()]
    costs = [model._cluster_vat(x, torch.Generator().manual_seed(3), None) for _ in range(2)]
    assert float(costs[0].detach()) > 0 and torch.equal(costs[0], costs[1])
    assert all(torch.equal(a, b) for a, b in zip(stats, model.encoder.buffers()))
    assert all(m.training for m in model.encoder.modules())  # dropout back in training mode
    costs[0].backward()
    assert model.encoder.y_head.weight.grad.abs().sum() > 0
    _, order, metrics = one_step(model, cfg)
    assert order == ["recon", "disc", "gen"] and float(metrics["cluster_vat_loss"]) > 0
    cfg.clustering.vat_weight = 0.0
    assert build_model(cfg, 20, 4)._cluster_vat(x, None, None) is None


def test_majority_vote_names_clusters_by_their_members():
    proba = torch.tensor([[0.9, 0.1, 0.0], [0.6, 0.4, 0.0], [0.55, 0.45, 0.0], [0.2, 0.8, 0.0], [0.3, 0.3, 0.4]])
    y = torch.tensor([1, 0, 0, 2, 1])
    # the most confident member of cluster 0 is labeled 1; its majority is 0
    assert cluster_labels(proba, y).tolist() == [1, 2, 1]
    assert majority_labels(proba, y).tolist() == [0, 2, 1]


def test_vat_radius_from_the_kth_neighbour_reaches_train_step_through_the_trainer():
    """With ``clustering.vat_neighbour = k`` the trainer computes each example's distance to its
    k-th nearest training example once and hands the batch's to ``train_step``; a model asked
    for it without one refuses clearly."""
    import pytest

    from aae.data import kth_neighbour_distance
    from aae.errors import AAEError
    from aae.training import Trainer

    cfg = tiny_cat("clustering", n_clusters=4)
    cfg.clustering.vat_weight, cfg.clustering.vat_eps, cfg.clustering.vat_neighbour = 1.0, 0.5, 3
    cfg.epochs, cfg.batch_size = 1, 16
    x = torch.rand(64, 20, generator=torch.Generator().manual_seed(0))
    model = build_model(cfg, 20, 4)
    assert model.neighbour_rank() == 3
    trainer = Trainer(model, cfg, x, torch.full((64,), -1))
    torch.testing.assert_close(trainer.radius, kth_neighbour_distance(x, 3))
    seen = []
    step = model.train_step
    model.train_step = lambda *a, **kw: seen.append(kw["radius"]) or step(*a, **kw)
    trainer.fit(1)
    assert len(seen) == trainer.n_batches and all(r.shape == (16,) for r in seen)
    with pytest.raises(AAEError, match="needs radius"):
        model._cluster_vat(x[:8], None, None)
    cfg.clustering.vat_weight = 0.0  # no VAT, no radius asked for
    assert build_model(cfg, 20, 4).neighbour_rank() == 0


def test_terms_phase_takes_the_clustering_terms_out_of_the_adversarial_step():
    """``clustering-terms-phase``: the gen step is the plain adversarial one (the same gen_loss as
    the model without the terms, from the same weights), then a ``cluster`` step trains q(y|x)'s
    parameters on the terms; with every term off the model is refused."""

    def step(model_name, **terms):
        cfg = tiny_cat(model_name, n_clusters=4)
        cfg.optim["cluster"] = OptimConfig("adam", 1e-3)
        for k, v in terms.items():
            setattr(cfg.clustering, k, v)
        torch.manual_seed(0)
        model = build_model(cfg, 20, 4)
        torch.manual_seed(1)
        return one_step(model, cfg)

    changed, order, metrics = step("clustering-terms-phase", balance_weight=1.0, vat_weight=1.0, vat_eps=0.5)
    assert order == ["recon", "disc", "gen", "cluster"]
    assert prefixes(changed["cluster"]) == {"encoder.trunk", "encoder.y_head"}
    assert {"balance_loss", "cluster_vat_loss"} <= set(metrics)
    _, plain_order, plain = step("clustering")
    assert plain_order == ["recon", "disc", "gen"] and torch.equal(metrics["gen_loss"], plain["gen_loss"])
    _, _, shared = step("clustering", balance_weight=1.0, vat_weight=1.0, vat_eps=0.5)
    assert not torch.equal(shared["gen_loss"], plain["gen_loss"])  # in model clustering they join the gen step
    with pytest.raises(AAEError, match="all three are 0"):
        step("clustering-terms-phase")
