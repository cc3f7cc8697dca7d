import numpy as np
import pytest
import torch

from aae.config import Config, NetworkConfig
from aae.errors import AAEError
from aae.models import build_model
from aae.semisupervised import SemiSupervisedAAE, SupervisedAAE
from aae.training import Trainer, make_optimizer


def tiny_cfg(model: str, **net) -> Config:
    cfg = Config(model=model, network=NetworkConfig(code_dim=3, hidden=[16, 16], disc_hidden=[8], **net))
    cfg.batch_size = 20
    return cfg


class Recording:
    """Wraps an optimizer; records which model parameters changed during its step."""

    def __init__(self, opt, model, log, name):
        self.opt, self.model, self.log, self.name = opt, model, log, name

    def zero_grad(self, set_to_none=True):
        self.opt.zero_grad(set_to_none=set_to_none)

    def step(self):
        before = {k: v.detach().clone() for k, v in self.model.named_parameters()}
        self.opt.step()
        self.log.append((self.name, {k for k, v in self.model.named_parameters() if not torch.equal(v, before[k])}))


def one_step(model, cfg, **kw):
    log = []
    opts = {
        n: Recording(make_optimizer(p, getattr(cfg, n)), model, log, n) for n, p in model.phase_parameters().items()
    }
    x, y = torch.rand(8, 20), torch.randint(0, 4, (8,))
    metrics = model.train_step(x, y, opts, torch.Generator().manual_seed(0), **kw)
    return dict(log), [n for n, _ in log], metrics


def prefixes(names):
    return {".".join(n.split(".")[:2]) if n.startswith("encoder") else n.split(".")[0] for n in names}


def test_semisupervised_phases_update_the_right_networks():
    cfg = tiny_cfg("semisupervised")
    model = build_model(cfg, 20, 4)
    assert isinstance(model, SemiSupervisedAAE) and model.needs_labeled_batch
    labeled = (torch.rand(6, 20), torch.tensor([0, 1, 2, 3, 0, 1]))
    changed, order, metrics = one_step(model, cfg, labeled=labeled)
    assert order == ["recon", "disc", "gen", "classify"]
    assert prefixes(changed["recon"]) == {"encoder.trunk", "encoder.y_head", "encoder.z_head", "decoder"}
    assert prefixes(changed["disc"]) == {"category", "style"}
    assert prefixes(changed["gen"]) == {"encoder.trunk", "encoder.y_head", "encoder.z_head"}
    # the classification phase trains q(y|x) only: shared layers and the softmax head
    assert prefixes(changed["classify"]) == {"encoder.trunk", "encoder.y_head"}
    assert {"recon_loss", "disc_loss", "gen_loss", "disc_acc", "classify_loss", "classify_acc"} <= set(metrics)
    with pytest.raises(AAEError, match="needs a labeled mini-batch"):
        one_step(model, cfg)


def test_clustering_has_no_classification_phase_and_k_clusters():
    cfg = tiny_cfg("clustering", n_clusters=7)
    model = build_model(cfg, 20, 4)
    changed, order, _ = one_step(model, cfg)
    assert order == ["recon", "disc", "gen"]
    assert model.predict_proba(torch.rand(5, 20)).shape == (5, 7)
    assert model.heads().shape == (7, 20)
    assert model.sample(3, torch.Generator().manual_seed(0), labels=torch.tensor([0, 6, 2])).shape == (3, 20)


@pytest.mark.parametrize(
    "model, net, n_classes, msg",
    [
        ("clustering", {"n_clusters": 3}, 4, "n_clusters=3 is fewer than the 4 classes"),
        ("clustering", {}, 4, "n_clusters >= 2"),
        ("semisupervised", {"n_clusters": 6}, 4, "one output per class"),
        ("semisupervised", {}, 0, "needs a labeled data set"),
        ("supervised", {}, 0, "needs a labeled data set"),
    ],
)
def test_bad_model_configurations_are_refused(model, net, n_classes, msg):
    with pytest.raises(AAEError, match=msg):
        build_model(tiny_cfg(model, **net), 20, n_classes)


def test_supervised_decoder_takes_the_label():
    cfg = tiny_cfg("supervised")
    model = build_model(cfg, 20, 4)
    assert isinstance(model, SupervisedAAE)
    changed, order, _ = one_step(model, cfg)
    assert order == ["recon", "disc", "gen"]
    assert prefixes(changed["disc"]) == {"regularizer"}
    z = torch.zeros(2, 3)
    # same style, different class: different images
    a, b = model.decode(z, torch.tensor([0, 0])), model.decode(z, torch.tensor([0, 1]))
    assert torch.equal(a[0], a[1]) and not torch.equal(b[0], b[1])
    with pytest.raises(AAEError, match="pass labels"):
        model.reconstruct(torch.rand(2, 20))


def labeled_data(n=200, d=20, k=4, n_labeled=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    y_true = torch.arange(n) % k
    x = torch.rand(n, d, generator=g) * 0.3
    x[torch.arange(n), y_true * 5] = 1.0  # class c lights up feature 5c
    y = torch.full((n,), -1)
    y[:n_labeled] = y_true[:n_labeled]
    return x, y, y_true


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
    cfg = tiny_cfg(model)
    with pytest.raises(AAEError, match=msg):
        Trainer(build_model(cfg, 20, 4), cfg, x, y_edit(y))


def test_labeled_batches_cycle_through_every_labeled_example():
    x, y, _ = labeled_data(n_labeled=8)
    cfg = tiny_cfg("semisupervised")
    cfg.labeled_batch_size = 4
    tr = Trainer(build_model(cfg, 20, 4), cfg, x, y)
    order = tr._labeled_order(tr.n_batches)
    assert len(order) == tr.n_batches * 4
    assert bool((y[order] >= 0).all())
    # every 8 consecutive draws are one shuffle of the 8 labeled examples
    for i in range(0, len(order) - 7, 8):
        assert sorted(order[i : i + 8].tolist()) == list(range(8))


def test_semisupervised_training_resumes_exactly_mid_epoch():
    x, y, _ = labeled_data()

    def make():
        cfg = tiny_cfg("semisupervised")
        torch.manual_seed(0)
        return Trainer(build_model(cfg, 20, 4), cfg, x, y)

    straight = make()
    straight.fit(2)
    first, saved = make(), {}

    def at_checkpoint(t):
        if t.step == 13 and not saved:
            tensors, meta = t.state_tensors()
            saved.update(tensors={k: v.clone() for k, v in tensors.items()}, meta=meta)

    first.fit(2, on_checkpoint=at_checkpoint, checkpoint_every=13)
    second = make()
    second.load_state_tensors(saved["tensors"], saved["meta"])
    second.fit(2)
    a, b = straight.model.state_dict(), second.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_semisupervised_learns_from_few_labels():
    x, y, y_true = labeled_data(n=400, n_labeled=8)
    cfg = tiny_cfg("semisupervised")
    cfg.recon.lr = 0.01
    cfg.classify.lr = 0.05
    torch.manual_seed(0)
    tr = Trainer(build_model(cfg, 20, 4), cfg, x, y)
    tr.fit(10)
    pred = tr.model.eval().predict_proba(x).argmax(1)
    assert float((pred == y_true).float().mean()) > 0.9


def test_cluster_head_penalty_pushes_close_heads_apart():
    cfg = tiny_cfg("dimred", head_margin=3.0)
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
    cfg = tiny_cfg("dimred")
    cfg.network.code_dim = 2
    model = build_model(cfg, 20, 4)
    changed, order, metrics = one_step(model, cfg, labeled=(torch.rand(4, 20), torch.tensor([0, 1, 2, 3])))
    assert order == ["recon", "disc", "gen", "classify"]
    assert "cluster_heads" in changed["recon"] and "head_penalty" in metrics
    x = torch.rand(5, 20)
    assert model.represent(x).shape == (5, 2) and torch.equal(model.view_2d(model.represent(x)), model.represent(x))
    # the decoder sees W_C·y + z: a one-hot y at head k with z = 0 decodes head k
    assert torch.allclose(model.decode(torch.zeros(1, 2), torch.tensor([2])), model.decoder(model.cluster_heads[2:3]))


def test_dimred_identity_heads_are_fixed_and_drawn_on_a_circle():
    cfg = tiny_cfg("dimred-clustering", n_clusters=5, heads="identity", head_scale=10.0)
    cfg.network.code_dim = 5
    model = build_model(cfg, 20, 4)
    changed, order, metrics = one_step(model, cfg)
    assert "cluster_heads" not in changed["recon"] and "head_penalty" not in metrics
    view = model.view_2d(model.cluster_heads)
    assert torch.allclose(view.norm(dim=1), torch.ones(5), atol=1e-5)  # heads land on the unit circle
    cfg.network.code_dim = 3
    with pytest.raises(AAEError, match="needs network.code_dim equal to the 5 clusters"):
        build_model(cfg, 20, 4)


def plain_mlp_error(x_l, y_l, x_test, y_test, hidden, steps, cfg, seed):
    """The baseline: the same q(y|x) network, optimizer and number of updates, on the labels alone."""
    from aae.networks import mlp

    torch.manual_seed(seed)
    net = mlp(x_l.shape[1], hidden, 10)
    opt = make_optimizer(list(net.parameters()), cfg.classify)
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x_l), y_l).backward()
        opt.step()
    return float((net.eval()(x_test).argmax(1) != y_test).float().mean())


@pytest.mark.parametrize("seed", [0, 1])
def test_semisupervised_100_labels_beats_a_plain_mlp_on_mnist(shared_data, seed):
    """Paper §5 in miniature: 100 MNIST labels + 10,000 unlabeled images, small networks, 1,500
    updates. The unlabeled data must make q(y|x) clearly better than the same network trained
    on the 100 labels alone (measured, seeds 0 / 1: 25.7 / 25.5 % vs 30.6 / 28.3 % test error)."""
    from aae.config import OptimConfig
    from aae.data import load_splits

    splits = load_splits("mnist", shared_data, validation=10000, n_labeled=100, seed=seed)
    lab = (splits.y_train >= 0).nonzero().squeeze(1)
    x = torch.cat([splits.x_train[lab], splits.x_train[:10000]])
    y = torch.cat([splits.y_train[lab], torch.full((10000,), -1)])
    x_test, y_test = splits.x_test[:2000], splits.y_test[:2000]
    hidden = [128, 128]
    cfg = Config(
        model="semisupervised", network=NetworkConfig(code_dim=10, hidden=hidden, disc_hidden=hidden), seed=seed
    )
    cfg.recon = OptimConfig("sgd", 0.001, 0.9)
    torch.manual_seed(seed)
    tr = Trainer(build_model(cfg, 784, 10), cfg, x, y)
    tr.fit(15)
    aae_error = float((tr.model.eval().predict_proba(x_test).argmax(1) != y_test).float().mean())
    mlp_error = plain_mlp_error(splits.x_train[lab], splits.y_train[lab], x_test, y_test, hidden, tr.step, cfg, seed)
    assert aae_error < mlp_error - 0.02, (aae_error, mlp_error)


@pytest.mark.parametrize("model", ["semisupervised", "clustering", "dimred", "dimred-clustering"])
def test_conv_networks_for_the_categorical_models(model):
    """network.arch=conv builds conv trunks and decoders for every model with a class head, and they train."""
    cfg = tiny_cfg(model, arch="conv", channels=[4, 8], batchnorm=True, n_clusters=12 if "clustering" in model else 0)
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


@pytest.mark.parametrize("k,dim", [(20, 2), (10, 10), (3, 1), (2, 5)])
def test_learned_heads_start_apart(k, dim):
    from aae.semisupervised import spread_heads

    heads = spread_heads(k, dim, 9.0)
    assert heads.shape == (k, dim)
    assert float(torch.pdist(heads).min()) == pytest.approx(9.0, rel=1e-4)
