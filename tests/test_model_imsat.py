"""Model ``imsat`` (aae.models.imsat): IMSAT alone, VAT and the batch terms in one step."""

import pytest
import torch

from aae.classification import hungarian_error
from aae.config import Config, NetworkConfig, OptimConfig
from aae.errors import AAEError
from aae.models import IMSAT, build_model, check_config
from aae.training import Trainer
from model_helpers import labeled_data, recorded_step


def tiny(k=4, neighbour=0) -> Config:
    cfg = Config(model="imsat", network=NetworkConfig(hidden=[32, 32], batchnorm=True, n_clusters=k))
    cfg.optim = {"cluster": OptimConfig("adam", 0.005)}
    c = cfg.clustering
    c.vat_weight, c.balance_weight, c.sharpness_weight = 1.0, 0.4, 0.1
    c.vat_eps, c.vat_neighbour, c.vat_xi = (0.25, neighbour, 1.0) if neighbour else (0.3, 0, 1e-3)
    cfg.batch_size = 50
    return cfg


def test_one_phase_with_the_imsat_cost_and_its_parts():
    cfg = tiny()
    torch.manual_seed(0)
    model = build_model(cfg, 20, 4)
    assert isinstance(model, IMSAT) and model.capabilities.clusters and not model.capabilities.codes
    changed, order, metrics = recorded_step(model, cfg, torch.rand(8, 20), torch.full((8,), -1))
    assert order == ["cluster"] and changed["cluster"] == {n for n, _ in model.named_parameters()}
    total = metrics["cluster_vat_loss"] + metrics["balance_loss"]
    torch.testing.assert_close(metrics["imsat_loss"], total)
    # the balance part is 0.4 (log K − H(mean q)) + 0.1 mean H(q), bounded by 0.5 log K
    assert 0 <= float(metrics["balance_loss"]) <= 0.5 * torch.log(torch.tensor(4.0)) + 1e-6
    assert model.predict_proba(torch.rand(5, 20)).shape == (5, 4)


def test_the_per_example_radius_is_asked_for_and_required():
    cfg = tiny(neighbour=3)
    model = build_model(cfg, 20, 4)
    assert model.neighbour_rank() == 3
    with pytest.raises(AAEError, match="needs radius"):
        recorded_step(model, cfg, torch.rand(8, 20), torch.full((8,), -1))
    _, _, metrics = recorded_step(model, cfg, torch.rand(8, 20), torch.full((8,), -1), radius=torch.ones(8))
    assert float(metrics["cluster_vat_loss"]) > 0


def test_imsat_finds_separated_clusters_without_labels():
    x, _, y_true = labeled_data(n=400, n_labeled=0)
    cfg = tiny(neighbour=5)
    torch.manual_seed(0)
    tr = Trainer(build_model(cfg, 20, 4), cfg, x, torch.full((400,), -1))
    assert tr.radius is not None and tr.radius.shape == (400,)  # the trainer computed each radius
    tr.fit(15)
    clusters = tr.model.eval().predict_proba(x).argmax(1)
    assert hungarian_error(clusters, y_true) < 5.0


def test_a_cost_of_nothing_and_a_conv_network_are_refused():
    cfg = tiny()
    cfg.clustering.vat_weight = cfg.clustering.balance_weight = 0.0
    with pytest.raises(AAEError, match="would learn nothing"):
        check_config(cfg)
    cfg = tiny()
    cfg.network.arch = "conv"
    with pytest.raises(AAEError, match="is an MLP"):
        build_model(cfg, 784, 10, (28, 28))
    cfg = tiny()
    cfg.clustering.vat_xi = 0.0
    with pytest.raises(AAEError, match="clustering.vat_xi"):
        check_config(cfg)


def test_hungarian_error_matches_clusters_to_classes_one_to_one():
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    assert hungarian_error(torch.tensor([2, 2, 0, 0, 1, 1]), y) == 0.0  # a relabelling costs nothing
    assert hungarian_error(torch.tensor([0, 0, 0, 0, 1, 1]), y) == pytest.approx(100 / 3)  # merged
    # more clusters than classes: the examples of an unmatched cluster are errors
    assert hungarian_error(torch.tensor([0, 3, 1, 1, 2, 2]), y) == pytest.approx(100 / 6)
    with pytest.raises(AAEError, match="same, non-empty size"):
        hungarian_error(torch.tensor([0]), y)
