"""The categorical code y + style z shared by the label-using models (aae.models.categorical)."""

import numpy as np
import pytest
import torch

from aae.errors import AAEError
from aae.models import build_model
from aae.training import Trainer
from model_helpers import labeled_data
from model_helpers import tiny_categorical as tiny_cat


@pytest.mark.parametrize(
    "model, net, n_classes, msg",
    [
        ("clustering", {"n_clusters": 3}, 4, "n_clusters=3 is fewer than the 4 classes"),
        ("clustering", {}, 4, "n_clusters >= 2"),
        ("semisupervised", {"n_clusters": 6}, 4, "has 1 output"),
        ("semisupervised", {}, 0, "needs a labeled data set"),
        ("supervised", {}, 0, "needs a labeled data set"),
    ],
)
def test_bad_model_configurations_are_refused(model, net, n_classes, msg):
    with pytest.raises(AAEError, match=msg):
        build_model(tiny_cat(model, **net), 20, n_classes)


@pytest.mark.parametrize(
    "model, y_edit, msg",
    [
        ("semisupervised", lambda y: y.masked_fill(y == 2, -1), r"class\(es\) \[2\] have no labeled"),
        ("semisupervised", lambda y: y.masked_fill(y == 2, 9), "label 9 is outside 0..3"),
        ("supervised", lambda y: y, "needs every training example labeled"),
    ],
)
def test_trainer_refuses_labels_the_model_cannot_use(model, y_edit, msg):
    x, y, _ = labeled_data()
    cfg = tiny_cat(model)
    with pytest.raises(AAEError, match=msg):
        Trainer(build_model(cfg, 20, 4), cfg, x, y_edit(y))


@pytest.mark.parametrize("model", ["semisupervised", "clustering", "dimred", "dimred-clustering"])
def test_conv_networks_for_the_categorical_models(model):
    """network.arch=conv builds conv trunks and decoders for every model with a class head, and they train."""
    cfg = tiny_cat(model, arch="conv", channels=[4, 8], batchnorm=True, n_clusters=12 if "clustering" in model else 0)
    if model.startswith("dimred"):
        cfg.network.code_dim = 2
    x = torch.randint(0, 256, (60, 3 * 16 * 16), dtype=torch.uint8)  # stored as pixels, converted per batch
    y = torch.arange(60) % 10
    net = build_model(cfg, 768, 10, (3, 16, 16))
    assert any(isinstance(m, torch.nn.Conv2d) for m in net.encoder.trunk.modules())
    assert any(isinstance(m, torch.nn.ConvTranspose2d) for m in net.decoder.modules())
    before = {k: v.clone() for k, v in net.state_dict().items()}
    tr = Trainer(net, cfg, x, y)
    tr.fit(1)
    assert all(np.isfinite(v) for v in tr.history[0].values())
    assert not torch.equal(before["encoder.y_head.weight"], net.encoder.y_head.weight)
    proba = net.predict_proba(torch.rand(4, 768))
    assert proba.shape == (4, net.n_classes)
    torch.testing.assert_close(proba.sum(1), torch.ones(4))
    assert net.sample(3, torch.Generator().manual_seed(0)).shape == (3, 768)
