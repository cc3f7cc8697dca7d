"""Models ``dimred`` and ``dimred-clustering`` (aae.models.dimred)."""

import pytest
import torch

from aae.config import DimredConfig
from aae.errors import AAEError
from aae.models import build_model
from model_helpers import one_step
from model_helpers import tiny_categorical as tiny_cat


def test_cluster_head_penalty_pushes_close_heads_apart():
    cfg = tiny_cat("dimred", DimredConfig(head_margin=3.0))
    cfg.network.code_dim = 2
    model = build_model(cfg, 20, 4)
    with torch.no_grad():
        model.cluster_heads.copy_(torch.tensor([[0.0, 0.0], [1.0, 0.0], [10.0, 0.0], [0.0, 10.0]]))
    penalty = model.head_penalty()
    assert float(penalty.detach()) == pytest.approx(3.0 - 1.0)  # only heads 0 and 1 are closer than the margin
    penalty.backward()
    grad = model.cluster_heads.grad
    # gradient descent moves head 0 towards -x and head 1 towards +x: apart; far heads feel nothing
    assert grad[0, 0] > 0 and grad[1, 0] < 0
    assert torch.equal(grad[2:], torch.zeros(2, 2))


def test_dimred_representation_and_phases():
    cfg = tiny_cat("dimred")
    cfg.network.code_dim = 2
    model = build_model(cfg, 20, 4)
    changed, order, metrics = one_step(model, cfg, labeled=(torch.rand(4, 20), torch.tensor([0, 1, 2, 3])))
    assert order == ["recon", "disc", "gen", "classify"]
    assert "cluster_heads" in changed["recon"] and "head_penalty" in metrics
    x = torch.rand(5, 20)
    assert model.represent(x).shape == (5, 2) and torch.equal(model.view_2d(model.represent(x)), model.represent(x))
    # the decoder sees W_C·y + z: a one-hot y at head k with z = 0 decodes head k
    assert torch.allclose(model.decode(torch.zeros(1, 2), torch.tensor([2])), model.decoder(model.cluster_heads[2:3]))


def test_dimred_has_a_head_per_category_and_decodes_a_class_at_its_first():
    cfg = tiny_cat("dimred")
    cfg.network.code_dim, cfg.semisupervised.categories_per_class = 2, 2
    model = build_model(cfg, 20, 4)
    assert model.cluster_heads.shape == (8, 2) and model.predict_proba(torch.rand(3, 20)).shape == (3, 4)
    _, order, _ = one_step(model, cfg, labeled=(torch.rand(4, 20), torch.tensor([0, 1, 2, 3])))
    assert order == ["recon", "disc", "gen", "classify"]
    assert torch.allclose(model.decode(torch.zeros(1, 2), torch.tensor([3])), model.decoder(model.cluster_heads[6:7]))


def test_dimred_identity_heads_are_fixed_and_drawn_on_a_circle():
    cfg = tiny_cat("dimred-clustering", DimredConfig(heads="identity", head_scale=10.0), n_clusters=5)
    cfg.network.code_dim = 5
    model = build_model(cfg, 20, 4)
    changed, order, metrics = one_step(model, cfg)
    assert "cluster_heads" not in changed["recon"] and "head_penalty" not in metrics
    view = model.view_2d(model.cluster_heads)
    assert torch.allclose(view.norm(dim=1), torch.ones(5), atol=1e-5)  # heads land on the unit circle
    cfg.network.code_dim = 3
    with pytest.raises(AAEError, match="needs network.code_dim equal to the 5 clusters"):
        build_model(cfg, 20, 4)


@pytest.mark.parametrize("k,dim", [(20, 2), (10, 10), (3, 1), (2, 5)])
def test_learned_heads_start_apart(k, dim):
    from aae.models.dimred.model import spread_heads

    heads = spread_heads(k, dim, 9.0)
    assert heads.shape == (k, dim)
    assert float(torch.pdist(heads).min()) == pytest.approx(9.0, rel=1e-4)
