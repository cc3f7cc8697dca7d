"""Model ``clustering`` (aae.models.clustering)."""

import torch

from aae.models import build_model
from model_helpers import one_step
from model_helpers import tiny_categorical as tiny_cat


def test_clustering_has_no_classification_phase_and_k_clusters():
    cfg = tiny_cat("clustering", n_clusters=7)
    model = build_model(cfg, 20, 4)
    changed, order, _ = one_step(model, cfg)
    assert order == ["recon", "disc", "gen"]
    assert model.predict_proba(torch.rand(5, 20)).shape == (5, 7)
    assert model.heads().shape == (7, 20)
    assert model.sample(3, torch.Generator().manual_seed(0), labels=torch.tensor([0, 6, 2])).shape == (3, 20)
