"""Every registered model keeps the contract of aae.models.base: declared phases, metrics and capabilities hold."""

import pytest
import torch

from aae.config import Config, NetworkConfig, OptimConfig
from aae.errors import AAEError
from aae.models import MODELS, build_model, check_config, model_class
from aae.training import make_optimizer

D, K = 20, 4  # data features, classes


def tiny(model: str) -> Config:
    cfg = Config(model=model, network=NetworkConfig(code_dim=2, hidden=[16], disc_hidden=[8]))
    if model == "vae":
        cfg.network.encoder = "gaussian"
    if model in ("clustering", "dimred-clustering", "imsat"):
        cfg.network.n_clusters = 5
    if model == "imsat":
        cfg.clustering.balance_weight = cfg.clustering.vat_weight = 1.0
        cfg.optim["cluster"] = OptimConfig("adam", 0.002)
    return cfg


def step(model, cfg):
    opts = {n: make_optimizer(p, cfg.optim[n]) for n, p in model.phase_parameters().items()}
    x, y = torch.rand(8, D), torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    labeled = (torch.rand(4, D), torch.tensor([0, 1, 2, 3])) if model.capabilities.labeled_batch else None
    extra = {"radius": torch.ones(len(x))} if model.neighbour_rank() else {}
    return model.train_step(x, y, opts, torch.Generator().manual_seed(0), labeled=labeled, **extra)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_declared_phases_and_metrics_hold(name):
    cfg = tiny(name)
    torch.manual_seed(0)
    model = build_model(cfg, D, K)
    assert isinstance(model, model_class(name))
    assert tuple(model.phase_parameters()) == model.phases
    assert all(model.phase_parameters()[p] for p in model.phases)  # every phase trains something
    metrics = step(model, cfg)
    assert set(metrics) <= set(model.metrics)
    assert ("recon_loss" in metrics) == model.capabilities.codes  # a model with codes reconstructs
    assert set(model.metrics.values()) <= set(model.phases)  # each metric belongs to a declared phase
    assert all(v.ndim == 0 and torch.isfinite(v) for v in metrics.values())


@pytest.mark.parametrize("name", sorted(MODELS))
def test_capabilities_match_the_methods(name):
    torch.manual_seed(0)
    model = build_model(tiny(name), D, K).eval()
    can, x = model.capabilities, torch.rand(5, D)
    if can.codes:
        assert model.encode(x).shape == (5, 2)
        assert model.reconstruct(x, torch.tensor([0, 1, 2, 3, 0])).shape == (5, D)
        assert model.sample(3, torch.Generator().manual_seed(0)).shape == (3, D)
    else:  # a component alone: it says so, rather than failing inside PyTorch
        for call in (lambda: model.encode(x), lambda: model.reconstruct(x), lambda: model.sample(3)):
            with pytest.raises(AAEError, match="has no codes, decoder or prior"):
                call()
    if can.predicts:
        proba = model.predict_proba(x)
        torch.testing.assert_close(proba.sum(1), torch.ones(5))
    else:
        with pytest.raises(AAEError, match="no classifier"):
            model.predict_proba(x)
    assert not (can.classes and can.clusters)
    if can.label_decoder:
        assert model.decode(torch.zeros(2, 2), torch.tensor([0, 1])).shape == (2, D)
        assert model.sample_classes >= K
    if can.code_decoder:
        assert model.decode(torch.zeros(2, 2)).shape == (2, D)
    if can.heads:
        assert model.heads().shape == (model.sample_classes, D)
    if can.representation:
        assert model.view_2d(model.represent(x)).shape == (5, 2)
    else:
        with pytest.raises(AAEError, match="no learned representation"):
            model.represent(x)


def test_registry_refuses_unknown_models_and_missing_optimizers():
    with pytest.raises(AAEError, match="unknown model 'gan'"):
        check_config(Config(model="gan"))
    cfg = tiny("semisupervised")
    del cfg.optim["classify"]
    with pytest.raises(AAEError, match=r"phase\(s\) \['classify'\].*optim.classify"):
        check_config(cfg)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_variant_is_a_file_a_preset_and_a_test(name):
    """A model variant is one module of aae.models (or a folder ``aae.models.<family>`` with its
    ``model`` module), at least one preset and its own test file."""
    from pathlib import Path

    from aae.presets import PRESETS

    module = model_class(name).__module__
    assert module.startswith("aae.models.") and (module.count(".") == 2 or module.endswith(".model")), module
    assert any(p.make().model == name for p in PRESETS.values())
    family = module.removesuffix(".model").split(".")[2]
    test_file = Path(__file__).parent / f"test_model_{family}.py"
    assert test_file.is_file(), test_file
