"""Model ``classifier`` (aae.models.classifier): q(y|x) alone, cross-entropy + VAT in one step."""

import pytest
import torch

from aae.config import Config, NetworkConfig, OptimConfig, SemiSupervisedConfig
from aae.errors import AAEError
from aae.models import VATClassifier, build_model
from aae.training import Trainer, make_optimizer
from model_helpers import labeled_data, recorded_step


def tiny(**terms) -> Config:
    cfg = Config(model="classifier", network=NetworkConfig(hidden=[16, 16], batchnorm=True))
    cfg.optim = {"classify": OptimConfig("adam", 0.01)}
    cfg.semisupervised = SemiSupervisedConfig(**terms)
    cfg.batch_size, cfg.labeled_batch_size = 20, 4
    return cfg


def bn_means(model):
    return [m.running_mean.clone() for m in model.modules() if isinstance(m, torch.nn.BatchNorm1d)]


def test_one_phase_trains_the_whole_network_on_labels_and_unlabeled_terms():
    cfg = tiny(vat_weight=1.0, vat_eps=0.5, entmin_weight=0.5)
    torch.manual_seed(0)
    model = build_model(cfg, 20, 4)
    assert isinstance(model, VATClassifier) and not model.capabilities.codes
    labeled = (torch.rand(4, 20), torch.tensor([0, 1, 2, 3]))
    changed, order, metrics = recorded_step(model, cfg, torch.rand(8, 20), torch.full((8,), -1), labeled=labeled)
    assert order == ["classify"] and changed["classify"] == {n for n, _ in model.named_parameters()}
    assert {"classify_loss", "classify_acc", "vat_loss", "entropy"} == set(metrics)
    assert float(metrics["vat_loss"]) > 0
    with pytest.raises(AAEError, match="needs a labeled mini-batch"):
        recorded_step(model, cfg, torch.rand(8, 20), torch.full((8,), -1))


def test_vat_changes_the_update():
    def first_layer_after(vat_weight):
        cfg = tiny(vat_weight=vat_weight, vat_eps=1.0)
        torch.manual_seed(0)
        model = build_model(cfg, 20, 4)
        labeled = (torch.rand(4, 20), torch.tensor([0, 1, 2, 3]))
        recorded_step(model, cfg, torch.rand(8, 20), torch.full((8,), -1), labeled=labeled)
        return model.net.net[0].weight.detach().clone()

    assert not torch.allclose(first_layer_after(0.0), first_layer_after(1.0))


@pytest.mark.parametrize("follow", [True, False])
def test_running_statistics_follow_the_labeled_or_the_unlabeled_batch(follow):
    """``labeled_bn_stats`` false: batch norm's running statistics come from the unlabeled batch's
    clean pass only, however far the labeled batch lies; the VAT passes never move them."""
    cfg = tiny(vat_weight=1.0, labeled_bn_stats=follow)
    model = build_model(cfg, 20, 4)
    opts = {n: make_optimizer(p, cfg.optim[n]) for n, p in model.phase_parameters().items()}
    labeled = (torch.full((4, 20), 50.0), torch.tensor([0, 1, 2, 3]))
    model.train_step(torch.rand(8, 20), torch.full((8,), -1), opts, torch.Generator().manual_seed(0), labeled=labeled)
    first = bn_means(model)[0]
    assert (float(first.abs().max()) > 1.0) == follow
    assert float(first.abs().max()) > 0  # some batch moved them
    assert all(m.momentum == 0.1 for m in model.modules() if isinstance(m, torch.nn.BatchNorm1d))


def test_the_classifier_learns_from_few_labels_and_refuses_what_it_cannot_use():
    x, y, y_true = labeled_data(n=400, n_labeled=8)
    cfg = tiny(vat_weight=1.0, vat_eps=0.3, labeled_bn_stats=False)
    torch.manual_seed(0)
    tr = Trainer(build_model(cfg, 20, 4), cfg, x, y)
    tr.fit(5)
    pred = tr.model.eval().predict_proba(x).argmax(1)
    assert float((pred == y_true).float().mean()) > 0.95
    y_missing = y.clone()
    y_missing[y_missing == 3] = -1
    with pytest.raises(AAEError, match=r"class\(es\) \[3\] have no labeled"):
        Trainer(build_model(cfg, 20, 4), cfg, x, y_missing)
    with pytest.raises(AAEError, match="at least 2 classes"):
        build_model(cfg, 20, 0)
    cfg.network.arch = "conv"
    with pytest.raises(AAEError, match="is an MLP"):
        build_model(cfg, 784, 10, (28, 28))


def test_input_shift_moves_the_images_of_training_passes_only():
    cfg = tiny()
    cfg.network.input_shift = 1
    torch.manual_seed(0)
    model = build_model(cfg, 16, 3, (4, 4))
    x = torch.rand(6, 16)
    net = model.net.train()
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    shifted, clean = net(x, g()), net(x, g(), noise=False)
    assert not torch.allclose(shifted, clean)  # the labeled and entropy passes see moved images
    assert torch.allclose(net(x, g(), noise=False), clean)  # VAT's passes, with noise=False, see x itself
    with pytest.raises(AAEError, match="network.input_shift=1 translates images"):
        build_model(cfg, 16, 3, None)


def test_labeled_shift_moves_the_labeled_images_only():
    cfg = tiny(entmin_weight=0.5, labeled_shift=2)
    torch.manual_seed(0)
    model = build_model(cfg, 25, 4, (5, 5))
    seen = []  # (batch size, where each image's bright pixel is) of every pass through the network
    model.net.net.register_forward_pre_hook(lambda _m, a: seen.append((len(a[0]), a[0].argmax(1).tolist())))
    dots = lambda n: torch.zeros(n, 25).index_fill_(1, torch.tensor([12]), 1.0)  # noqa: E731
    recorded_step(model, cfg, dots(8), torch.full((8,), -1), labeled=(dots(4), torch.arange(4)))
    labeled = [where for n, where in seen if n == 4]
    assert len(labeled) == 1 and labeled[0] != [12] * 4  # the cross-entropy pass: translated
    entropy = [where for n, where in seen if n == 8][-1]  # the entropy pass, unlike network.input_shift's
    assert entropy == [12] * 8
    with pytest.raises(AAEError, match="semisupervised.labeled_shift=2 translates images"):
        build_model(cfg, 25, 4, None)
