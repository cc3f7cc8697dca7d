"""Every registered model keeps the contract of aae.models.base: declared phases, metrics and capabilities
hold; every family keeps the layout: its models and its table in its own folder."""

import dataclasses
import importlib
import importlib.util
import pkgutil
from pathlib import Path

import pytest
import torch

import aae.models
from aae.config import FAMILY_TABLES, Config, FamilyTable
from aae.errors import AAEError
from aae.models import MODELS, build_model, check_config, model_class
from aae.presets import PRESETS
from aae.training import make_optimizer

D, K = 20, 4  # data features, classes


def tiny(model: str) -> Config:
    """The first preset of ``model``, its networks made small enough for a unit test: the preset
    says what the model needs (encoder, clusters, its phases' optimizers), so a new family needs
    nothing here."""
    cfg = next(c for c in (p.make() for p in PRESETS.values()) if c.model == model)
    cfg.network.hidden, cfg.network.disc_hidden = [16], [8]
    cfg.network.input_shift = 0  # the data here are no images
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
    cfg = tiny(name)
    model = build_model(cfg, D, K).eval()
    can, x, z = model.capabilities, torch.rand(5, D), torch.zeros(2, cfg.network.code_dim)
    if can.codes:
        assert model.encode(x).shape == (5, cfg.network.code_dim)
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
        assert model.decode(z, torch.tensor([0, 1])).shape == (2, D)
        assert model.sample_classes >= K
    if can.code_decoder:
        assert model.decode(z).shape == (2, D)
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


def families() -> list[str]:
    """The model families: the packages of aae.models (its modules are parts they share)."""
    return sorted(m.name for m in pkgutil.iter_modules(aae.models.__path__) if m.ispkg)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_is_in_its_family_folder_with_a_preset_and_a_test(name):
    """A model lives in ``aae/models/<family>/model.py``, which declares it in ``MODELS``; it has at
    least one preset, and its family its own test file."""
    module = model_class(name).__module__
    family = module.split(".")[2]
    assert module == f"aae.models.{family}.model", module
    assert family in families()
    assert importlib.import_module(module).MODELS[name] is model_class(name)
    assert any(p.make().model == name for p in PRESETS.values())
    test_file = Path(__file__).parent / f"test_model_{family}.py"
    assert test_file.is_file(), test_file


@pytest.mark.parametrize("family", families())
def test_a_family_table_is_declared_in_the_family_config_module(family):
    """A family's own settings, if it has any, are the dataclass ``TABLE`` of
    ``aae.models.<family>.config``, registered as ``cfg.<family>`` with its defaults and its rules:
    no file outside the family's folder lists them."""
    has_config = importlib.util.find_spec(f"aae.models.{family}.config") is not None
    assert (family in FAMILY_TABLES) == has_config
    assert importlib.import_module(f"aae.models.{family}.model").MODELS  # every family has models
    if not has_config:
        return
    table = FAMILY_TABLES[family]
    assert table is importlib.import_module(f"aae.models.{family}.config").TABLE
    assert table.__module__ == f"aae.models.{family}.config"
    assert dataclasses.is_dataclass(table) and issubclass(table, FamilyTable)
    cfg = Config()
    assert getattr(cfg, family) == table() and cfg.families[family] is getattr(cfg, family)
    keys = {f.name for f in dataclasses.fields(table)}
    for key, value, rule in table().rules(cfg):  # its rules name its own keys, and its defaults pass them
        assert key in keys and rule(value) is None, (key, value)


def test_a_config_holds_the_shared_tables_and_every_family_table():
    shared = {f.name for f in dataclasses.fields(Config)} - {"families"}
    assert set(Config().to_dict()) == shared | set(FAMILY_TABLES)
    assert not shared & set(FAMILY_TABLES)
    assert set(FAMILY_TABLES) <= set(families())


def test_a_family_table_is_set_and_read_as_an_attribute():
    cfg = Config()
    table = type(cfg.wae)(weight=3.0)
    cfg.wae = table
    assert cfg.wae is table and cfg.families["wae"] is table and cfg.to_dict()["wae"]["weight"] == 3.0
    assert Config(families={"wae": table}).wae is table
    with pytest.raises(AAEError, match=r"unknown model family table\(s\) \['nope'\]"):
        Config(families={"nope": table})
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        cfg.nope  # noqa: B018


def test_the_families_tables_are_importable_from_aae_config_as_before():
    from aae.config import ClusteringConfig, DimredConfig, SemiSupervisedConfig, WAEConfig

    assert SemiSupervisedConfig is FAMILY_TABLES["semisupervised"] and WAEConfig is FAMILY_TABLES["wae"]
    assert ClusteringConfig.__module__ == "aae.models.clustering.config"
    assert DimredConfig.__module__ == "aae.models.dimred.config"
    with pytest.raises(ImportError):
        from aae.config import NoSuchConfig  # noqa: F401
