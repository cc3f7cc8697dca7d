"""Model ``semisupervised`` (aae.models.semisupervised): semi-supervised classification."""

import math
from dataclasses import replace

import pytest
import torch

from aae.config import Config, NetworkConfig, OptimConfig, SemiSupervisedConfig
from aae.errors import AAEError
from aae.models import SemiSupervisedAAE, build_model
from aae.training import Trainer, make_optimizer
from model_helpers import labeled_data, one_step, prefixes, recorded_step
from model_helpers import tiny_categorical as tiny_cat


def test_semisupervised_phases_update_the_right_networks():
    cfg = tiny_cat("semisupervised")
    model = build_model(cfg, 20, 4)
    assert isinstance(model, SemiSupervisedAAE) and model.capabilities.labeled_batch
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


def test_labeled_batches_cycle_through_every_labeled_example():
    x, y, _ = labeled_data(n_labeled=8)
    cfg = tiny_cat("semisupervised")
    cfg.labeled_batch_size = 4
    tr = Trainer(build_model(cfg, 20, 4), cfg, x, y)
    order = tr._labeled_order(tr.n_batches)
    assert len(order) == tr.n_batches * 4
    assert bool((y[order] >= 0).all())
    # every 8 consecutive draws are one shuffle of the 8 labeled examples
    for i in range(0, len(order) - 7, 8):
        assert sorted(order[i : i + 8].tolist()) == list(range(8))


ALL_TERMS = SemiSupervisedConfig(
    labeled_bn_stats=False,
    labeled_recon=0.5,
    vat_weight=1.0,
    vat_eps=0.5,
    entmin_weight=0.1,
    label_smoothing=0.1,
    labeled_mixup=0.5,
    categories_per_class=2,
)


@pytest.mark.parametrize(
    "terms, ema", [(SemiSupervisedConfig(), 0.0), (replace(ALL_TERMS, teacher_weight=0.5, teacher_rampup=1.0), 0.9)]
)
def test_semisupervised_training_resumes_exactly_mid_epoch(terms, ema):
    x, y, _ = labeled_data()

    def make():
        cfg = tiny_cat("semisupervised", batchnorm=True)
        cfg.semisupervised, cfg.ema = terms, ema
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
    if ema:
        a, b = straight.ema.state_dict(), second.ema.state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a)
        assert not torch.equal(a["module.decoder.net.0.weight"], straight.model.decoder.net[0].weight)


def bn_running_means(model):
    return [m.running_mean.clone() for m in model.modules() if isinstance(m, torch.nn.BatchNorm1d)]


@pytest.mark.parametrize("follow", [True, False])
def test_labeled_batch_updates_batchnorm_statistics_only_when_asked(follow):
    cfg = tiny_cat("semisupervised", batchnorm=True)
    cfg.semisupervised = SemiSupervisedConfig(labeled_bn_stats=follow)
    model = build_model(cfg, 20, 4)
    opts = {n: make_optimizer(p, cfg.optim[n]) for n, p in model.phase_parameters().items()}
    x = torch.rand(8, 20)
    labeled = (torch.full((4, 20), 50.0), torch.tensor([0, 1, 2, 3]))  # far from the unlabeled data
    model.train_step(x, torch.full((8,), -1), opts, torch.Generator().manual_seed(0), labeled=labeled)
    with_labeled = bn_running_means(model)[0]
    # the unlabeled passes alone leave the first layer's running mean near the data's (< 1 per unit)
    assert (float(with_labeled.abs().max()) > 1.0) == follow
    assert all(m.momentum == 0.1 for m in model.modules() if isinstance(m, torch.nn.BatchNorm1d))


def test_classification_terms_report_their_metrics_and_change_the_update():
    def step(terms):
        cfg = tiny_cat("semisupervised")
        cfg.semisupervised = terms
        torch.manual_seed(0)
        model = build_model(cfg, 20, 4)
        _, order, metrics = one_step(model, cfg, labeled=(torch.rand(4, 20), torch.tensor([0, 1, 2, 3])))
        return model, order, metrics

    plain, order, metrics = step(SemiSupervisedConfig())
    assert order == ["recon", "disc", "gen", "classify"] and not {"vat_loss", "entropy", "labeled_recon_loss"} & set(
        metrics
    )
    full, order, metrics = step(ALL_TERMS)
    assert order == ["recon", "disc", "gen", "classify"]
    assert {"vat_loss", "entropy", "labeled_recon_loss"} <= set(metrics) <= set(full.metrics)
    assert (
        float(metrics["vat_loss"]) >= 0 and float(metrics["entropy"]) > 0 and float(metrics["labeled_recon_loss"]) > 0
    )
    assert not torch.equal(plain.encoder.y_head.weight, full.encoder.y_head.weight)


def classify_loss(terms: SemiSupervisedConfig, n: int = 4) -> float:
    """The classification phase's cost after one step of a tiny model with ``terms``, on ``n``
    labeled rows (classes 0-3 in turn): the same weights, data and noise for any ``terms``."""
    cfg = tiny_cat("semisupervised")
    cfg.semisupervised = terms
    torch.manual_seed(0)
    model = build_model(cfg, 20, 4)
    torch.manual_seed(1)
    _, _, metrics = one_step(model, cfg, labeled=(torch.rand(n, 20), torch.arange(n) % 4))
    return float(metrics["classify_loss"])


def test_label_smoothing_softens_the_labeled_cross_entropy():
    """Smoothing ε reports (1 − ε)·CE + ε·mean_k(−log q_k) for the labeled batch: with the same
    weights, data and noise (the phases before it do not see ε), the loss is linear in ε."""
    losses = [classify_loss(SemiSupervisedConfig(label_smoothing=eps)) for eps in (0.0, 0.3, 0.6)]
    assert abs(losses[1] - losses[0]) > 1e-4  # smoothing changes the loss
    assert losses[2] - losses[1] == pytest.approx(losses[1] - losses[0], rel=1e-3, abs=1e-6)


def test_labeled_mixup_trains_on_mixed_images_and_targets():
    """With the same weights, data and noise before it (the earlier phases do not see α), the
    classification phase's cost changes when its labeled batch is mixed, and depends on α."""
    plain, mixed, other = (classify_loss(SemiSupervisedConfig(labeled_mixup=a), n=8) for a in (0.0, 1.0, 4.0))
    assert abs(mixed - plain) > 1e-4 and abs(other - mixed) > 1e-4


@pytest.mark.parametrize("per_class", [1, 2])
def test_semisupervised_learns_from_few_labels(per_class):
    """With one softmax unit per class, or several (q(class|x) the sum of a class's units)."""
    x, y, y_true = labeled_data(n=400, n_labeled=8)
    cfg = tiny_cat("semisupervised")
    cfg.semisupervised.categories_per_class = per_class
    cfg.optim["recon"].lr = 0.01
    cfg.optim["classify"].lr = 0.05
    torch.manual_seed(0)
    tr = Trainer(build_model(cfg, 20, 4), cfg, x, y)
    tr.fit(10)
    pred = tr.model.eval().predict_proba(x).argmax(1)
    assert float((pred == y_true).float().mean()) > 0.9


def test_several_categories_per_class_sum_into_the_class_probability():
    cfg = tiny_cat("semisupervised")
    cfg.semisupervised = SemiSupervisedConfig(categories_per_class=3, labeled_recon=1.0)
    torch.manual_seed(0)
    model = build_model(cfg, 20, 4).eval()
    assert model.encoder.n_classes == 12 and model.n_categories == 12 and model.n_classes == 4
    x = torch.rand(5, 20)
    logits, _ = model.encoder(x)
    units = torch.softmax(logits, 1)
    proba = model.predict_proba(x)
    # class c owns units 3c .. 3c + 2
    assert proba.shape == (5, 4) and torch.allclose(proba, units.view(5, 4, 3).sum(2), atol=1e-6)
    labels = torch.tensor([0, 1, 2, 3, 3])
    chosen = model.categories(labels, logits)
    assert torch.equal(chosen // 3, labels)
    assert torch.equal(units[torch.arange(5), chosen], units.view(5, 4, 3)[torch.arange(5), labels].amax(1))
    assert torch.equal(model.categories(labels), labels * 3)  # no logits: the class's first unit
    assert model.heads().shape == (4, 20) and model.sample(6).shape == (6, 20)
    model.train()
    _, order, metrics = one_step(model, cfg, labeled=(torch.rand(8, 20), torch.arange(8) % 4))
    assert order == ["recon", "disc", "gen", "classify"] and float(metrics["labeled_recon_loss"]) > 0


def test_mean_teacher_term_pulls_q_towards_the_weight_average():
    """The consistency cost is |q(y|x) − q_teacher(y|x)|² on the unlabeled batch: reported, part of
    the update, zero-gradient for the teacher, and refused without a weight average."""
    from copy import deepcopy

    cfg = tiny_cat("semisupervised", batchnorm=True)
    cfg.semisupervised, cfg.ema = SemiSupervisedConfig(teacher_weight=1.0), 0.9
    torch.manual_seed(0)
    model = build_model(cfg, 20, 4)
    assert model.capabilities.teacher
    teacher = deepcopy(model)
    with torch.no_grad():
        teacher.encoder.y_head.bias.add_(torch.tensor([3.0, 0.0, 0.0, 0.0]))  # a teacher that favours class 0
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    x = torch.rand(16, 20)
    p0 = float(model.eval().predict_proba(x)[:, 0].mean())
    model.train()
    labeled = (torch.rand(4, 20), torch.tensor([0, 1, 2, 3]))
    _, order, metrics = one_step(model, cfg, labeled=labeled, teacher=teacher)
    assert order == ["recon", "disc", "gen", "classify"] and float(metrics["teacher_loss"]) > 0
    assert all(torch.equal(v, before[k]) for k, v in teacher.state_dict().items())  # running stats included
    far = SemiSupervisedConfig(teacher_weight=50.0)
    cfg.semisupervised = far
    torch.manual_seed(0)
    pulled = build_model(cfg, 20, 4)
    one_step(pulled, cfg, labeled=labeled, teacher=teacher)
    # the heavily weighted teacher moves q(class 0 | x) up further than the light one
    assert float(pulled.eval().predict_proba(x)[:, 0].mean()) > float(model.eval().predict_proba(x)[:, 0].mean()) > p0
    with pytest.raises(AAEError, match="teacher_weight needs the weight average"):
        one_step(pulled.train(), cfg, labeled=labeled, teacher=None)


@pytest.mark.parametrize("epochs_done, same_as", [(0.0, "ramped"), (2.0, "constant"), (3.5, "constant")])
def test_the_teacher_weight_ramps_up_with_the_epochs_done(epochs_done, same_as):
    """With ``teacher_rampup=2`` the step at epoch 0 is the step of weight × exp(−5), and from
    epoch 2 on the step of the constant weight."""
    from copy import deepcopy

    labeled = (torch.rand(4, 20), torch.tensor([0, 1, 2, 3]))
    x, y = torch.rand(8, 20), torch.randint(0, 4, (8,))

    def stepped(weight, rampup, done):
        cfg = tiny_cat("semisupervised")
        cfg.semisupervised, cfg.ema = SemiSupervisedConfig(teacher_weight=weight, teacher_rampup=rampup), 0.9
        torch.manual_seed(0)
        model = build_model(cfg, 20, 4)
        teacher = deepcopy(model)
        with torch.no_grad():
            teacher.encoder.y_head.bias.add_(torch.tensor([3.0, 0.0, 0.0, 0.0]))
        opts = {n: make_optimizer(p, cfg.optim[n]) for n, p in model.phase_parameters().items()}
        noise = torch.Generator().manual_seed(1)
        model.train_step(x, y, opts, noise, labeled=labeled, teacher=teacher, epochs_done=done)
        return model.encoder.y_head.weight.detach()

    weight = 20.0
    got = stepped(weight, 2.0, epochs_done)
    expected = {"ramped": stepped(weight * math.exp(-5.0), 0.0, 0.0), "constant": stepped(weight, 0.0, 0.0)}
    assert torch.allclose(got, expected[same_as], atol=1e-6)
    other = expected["constant" if same_as == "ramped" else "ramped"]
    assert not torch.allclose(got, other, atol=1e-4)


def test_the_trainer_hands_its_weight_average_to_the_teacher_term():
    x, y, _ = labeled_data()
    cfg = tiny_cat("semisupervised")
    cfg.semisupervised.teacher_weight = 1.0
    cfg.ema = 0.9
    torch.manual_seed(0)
    tr = Trainer(build_model(cfg, 20, 4), cfg, x, y)
    seen = []
    step = tr.model.train_step

    def recording(*a, **kw):
        seen.append((tr.step, kw["epochs_done"], kw["teacher"] is tr.ema.module))
        return step(*a, **kw)

    tr.model.train_step = recording
    tr.fit(2)
    assert tr.history[-1]["teacher_loss"] >= 0
    # the progress it ramps with is the step over the batches of an epoch, from 0
    assert seen == [(s, s / tr.n_batches, True) for s in range(2 * tr.n_batches)]
    cfg.ema = 0.0
    with pytest.raises(AAEError, match="set ema > 0"):
        Trainer(build_model(cfg, 20, 4), cfg, x, y).fit(1)


def test_categories_per_class_must_agree_with_n_clusters():
    cfg = tiny_cat("semisupervised", n_clusters=8)
    cfg.semisupervised.categories_per_class = 2
    assert build_model(cfg, 20, 4).n_categories == 8
    cfg.semisupervised.categories_per_class = 3
    with pytest.raises(AAEError, match="network.n_clusters=8 but the semi-supervised model has 3 output"):
        build_model(cfg, 20, 4)


def plain_mlp_error(x_l, y_l, x_test, y_test, hidden, steps, cfg, seed):
    """The baseline: the same q(y|x) network, optimizer and number of updates, on the labels alone."""
    from aae.networks import mlp

    torch.manual_seed(seed)
    net = mlp(x_l.shape[1], hidden, 10)
    opt = make_optimizer(list(net.parameters()), cfg.optim["classify"])
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x_l), y_l).backward()
        opt.step()
    return float((net.eval()(x_test).argmax(1) != y_test).float().mean())


@pytest.mark.parametrize("seed", [0, 1])
def test_semisupervised_100_labels_beats_a_plain_mlp_on_mnist(shared_data, seed, request):
    """Paper §5 in miniature: 100 MNIST labels + 10,000 unlabeled images, small networks, 1,500
    updates. The unlabeled data must make q(y|x) clearly better than the same network trained
    on the 100 labels alone (measured, seeds 0 / 1: 25.7 / 25.5 % vs 30.6 / 28.3 % test error)."""
    from aae.data import load_splits

    # one thread, whatever earlier tests left: the sums' order, and so this run, depend on it
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    request.addfinalizer(lambda: torch.set_num_threads(threads))
    splits = load_splits("mnist", shared_data, validation=10000, n_labeled=100, seed=seed)
    lab = (splits.y_train >= 0).nonzero().squeeze(1)
    x = torch.cat([splits.x_train[lab], splits.x_train[:10000]])
    y = torch.cat([splits.y_train[lab], torch.full((10000,), -1)])
    x_test, y_test = splits.x_test[:2000], splits.y_test[:2000]
    hidden = [128, 128]
    cfg = Config(
        model="semisupervised", network=NetworkConfig(code_dim=10, hidden=hidden, disc_hidden=hidden), seed=seed
    )
    cfg.optim["recon"] = OptimConfig("sgd", 0.001, 0.9)
    torch.manual_seed(seed)
    tr = Trainer(build_model(cfg, 784, 10), cfg, x, y)
    tr.fit(15)
    aae_error = float((tr.model.eval().predict_proba(x_test).argmax(1) != y_test).float().mean())
    mlp_error = plain_mlp_error(splits.x_train[lab], splits.y_train[lab], x_test, y_test, hidden, tr.step, cfg, seed)
    assert aae_error < mlp_error - 0.02, (aae_error, mlp_error)


def _centre_dots(n: int, side: int = 5) -> torch.Tensor:
    """``n`` flattened ``side``×``side`` images, each one bright pixel at the centre."""
    x = torch.zeros(n, side * side)
    x[:, (side * side) // 2] = 1.0
    return x


def test_labeled_shift_moves_the_labeled_images_of_the_classification_phase_only():
    def passes(shift):
        """(batch size, where each image's bright pixel is) of every pass through the trunk in one step."""
        cfg = tiny_cat("semisupervised")
        cfg.semisupervised.labeled_shift = shift
        torch.manual_seed(0)
        model = build_model(cfg, 25, 4, (5, 5))
        seen = []
        model.encoder.trunk.register_forward_pre_hook(lambda _m, a: seen.append((len(a[0]), a[0].argmax(1).tolist())))
        labeled = (_centre_dots(4), torch.arange(4))
        _, order, _ = recorded_step(model, cfg, _centre_dots(8), torch.full((8,), -1), labeled=labeled)
        assert order == ["recon", "disc", "gen", "classify"]
        return [w for n, w in seen if n == 8], [w for n, w in seen if n == 4]

    unlabeled, labeled = passes(2)
    assert unlabeled and all(w == [12] * 8 for w in unlabeled)  # reconstruction and regularization: unmoved
    assert len(labeled) == 1 and labeled[0] != [12] * 4  # the cross-entropy pass: translated
    assert passes(0)[1] == [[12] * 4]
    cfg = tiny_cat("semisupervised")
    cfg.semisupervised.labeled_shift = 5
    with pytest.raises(AAEError, match="semisupervised.labeled_shift=5 is not smaller than the 5x5 images"):
        build_model(cfg, 25, 4, (5, 5))
    cfg.semisupervised.labeled_shift = 1
    with pytest.raises(AAEError, match="semisupervised.labeled_shift=1 translates images"):
        build_model(cfg, 25, 4, None)
