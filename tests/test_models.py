import math
from functools import partial

import pytest
import torch

from aae.config import Config, NetworkConfig, apply_overrides
from aae.errors import AAEError
from aae.models import build_model, reconstruction_loss
from aae.training import make_optimizer


def tiny_cfg(**kw) -> Config:
    cfg = Config(network=NetworkConfig(code_dim=2, hidden=[16], disc_hidden=[16]))
    for k, v in kw.items():
        setattr(cfg, k, v)
    return cfg


class RecordingOptimizer:
    """Wraps an optimizer; records which model parameters changed during its step."""

    def __init__(self, opt, model, log, name):
        self.opt, self.model, self.log, self.name = opt, model, log, name

    def zero_grad(self, set_to_none=True):
        self.opt.zero_grad(set_to_none=set_to_none)

    def step(self):
        before = {k: v.detach().clone() for k, v in self.model.named_parameters()}
        self.opt.step()
        changed = {k for k, v in self.model.named_parameters() if not torch.equal(v, before[k])}
        self.log.append((self.name, changed))


def run_one_step(model, cfg, y=None):
    log = []
    opts = {
        name: RecordingOptimizer(make_optimizer(p, getattr(cfg, name)), model, log, name)
        for name, p in model.phase_parameters().items()
    }
    x = torch.rand(8, 20)
    y = torch.full((8,), -1) if y is None else y
    metrics = model.train_step(x, y, opts, torch.Generator().manual_seed(0))
    return log, metrics


def groups(names):
    return {n.split(".")[0] if not n.startswith("regularizer") else "discriminator" for n in names}


def test_each_phase_updates_only_its_networks():
    cfg = tiny_cfg()
    model = build_model(cfg, 20, 10)
    log, metrics = run_one_step(model, cfg)
    assert [name for name, _ in log] == ["recon", "disc", "gen"]
    phases = dict(log)
    assert groups(phases["recon"]) == {"encoder", "decoder"}
    assert groups(phases["disc"]) == {"discriminator"}
    assert groups(phases["gen"]) == {"encoder"}
    # every parameter of the updated networks moved
    n_enc_dec = sum(1 for k, _ in model.named_parameters() if k.startswith(("encoder", "decoder")))
    assert len(phases["recon"]) == n_enc_dec
    assert set(metrics) == {"recon_loss", "disc_loss", "disc_acc", "gen_loss"}
    # the discriminator is trainable again after the generator phase
    assert all(p.requires_grad for p in model.regularizer.parameters())


def test_without_regularization_only_reconstruction_runs():
    cfg = tiny_cfg(regularize=False)
    model = build_model(cfg, 20, 10)
    assert model.regularizer is None and model.phases == ("recon",)
    log, metrics = run_one_step(model, cfg)
    assert [name for name, _ in log] == ["recon"] and set(metrics) == {"recon_loss"}


@pytest.mark.parametrize("kind", ["deterministic", "gaussian", "universal"])
@pytest.mark.parametrize("loss", ["mse", "bce"])
def test_every_encoder_kind_and_cost_trains(kind, loss):
    cfg = tiny_cfg(recon_loss=loss)
    cfg.network.encoder, cfg.network.noise_dim = kind, 3
    model = build_model(cfg, 20, 10)
    log, metrics = run_one_step(model, cfg)
    assert all(torch.isfinite(v) for v in metrics.values())
    assert groups(dict(log)["gen"]) == {"encoder"}


def test_label_informed_discriminator_uses_the_labels():
    cfg = apply_overrides(tiny_cfg(), ['prior={"name": "mixture"}', "use_labels=true"])
    model = build_model(cfg, 20, 10)
    assert model.regularizer.discriminator.n_label_inputs == 11
    y = torch.tensor([0, 1, 2, -1, -1, 5, 9, 3])
    log, metrics = run_one_step(model, cfg, y)
    assert groups(dict(log)["disc"]) == {"discriminator"}


def test_build_errors_are_clear():
    with pytest.raises(AAEError, match="dimension 2 but the code size is 8"):
        build_model(apply_overrides(tiny_cfg(), ["network.code_dim=8", 'prior={"name": "mixture"}']), 20, 10)
    with pytest.raises(AAEError, match="component per class"):
        build_model(apply_overrides(tiny_cfg(), ["use_labels=true"]), 20, 10)
    with pytest.raises(AAEError, match="unknown recon_loss"):
        build_model(apply_overrides(tiny_cfg(), ['recon_loss="l3"']), 20, 10)
    with pytest.raises(AAEError, match="unknown model"):
        build_model(apply_overrides(tiny_cfg(), ['model="gan"']), 20, 10)


def test_sample_and_decode_shapes():
    model = build_model(tiny_cfg(), 20, 10)
    x = model.sample(7, torch.Generator().manual_seed(0))
    assert x.shape == (7, 20) and x.min() >= 0 and x.max() <= 1
    assert model.encode(torch.rand(3, 20)).shape == (3, 2)


def test_label_weight_balances_labeled_examples():
    cfg = apply_overrides(tiny_cfg(), ['prior={"name": "mixture"}', "use_labels=true", "label_weight=4"])
    reg = build_model(cfg, 20, 10).regularizer
    y = torch.tensor([3, -1, -1, -1, -1])
    w = reg._weights(y)
    torch.testing.assert_close(w, torch.tensor([4.0, 1, 1, 1, 1]) / 1.6)
    z = torch.randn(5, 2)
    weighted = reg.generator_loss(z, y)
    reg.label_weight = 1.0
    assert reg._weights(y) is None and not torch.allclose(weighted, reg.generator_loss(z, y))


@pytest.mark.parametrize("kind", ["deterministic", "gaussian", "universal"])
@pytest.mark.parametrize("shape", [(28, 28), (3, 32, 32), (48, 48)])
def test_conv_model_train_step(kind, shape):
    d = math.prod(shape)
    cfg = apply_overrides(
        tiny_cfg(),
        [f'network.encoder="{kind}"', "network.noise_dim=2", 'network.arch="conv"', "network.channels=[4,8]"],
    )
    model = build_model(cfg, d, 10, image_shape=shape)
    opts = {n: torch.optim.SGD(p, lr=0.01) for n, p in model.phase_parameters().items()}
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x, y = torch.rand(6, d), torch.full((6,), -1)
    out = model.train_step(x, y, opts, torch.Generator().manual_seed(0))
    assert set(out) == {"recon_loss", "disc_loss", "disc_acc", "gen_loss"}
    assert all(torch.isfinite(v) for v in out.values())
    after = model.state_dict()
    assert not torch.equal(before["encoder.net.conv.0.weight"], after["encoder.net.conv.0.weight"])
    assert not torch.equal(before["decoder.net.deconv.0.weight"], after["decoder.net.deconv.0.weight"])


def test_conv_on_tabular_data_is_refused():
    cfg = apply_overrides(tiny_cfg(), ['network.arch="conv"'])
    with pytest.raises(AAEError, match="network.arch='conv' needs image data"):
        build_model(cfg, 20, 10)


@pytest.mark.parametrize(
    "sets, penalty",
    [
        (["regularizer=mmd"], "mmd"),
        (["regularizer=mmd", "mmd_kernel=rbf", "mmd_closed_form=true", 'prior={"name": "mixture"}'], "mmd"),
        (["regularizer=kl", "network.encoder=gaussian"], "kl"),
        (["regularizer=kl", "network.encoder=gaussian", 'prior={"name": "mixture"}', "recon_loss=bce"], "kl"),
    ],
)
def test_penalty_regularizers_train_encoder_and_decoder_in_one_phase(sets, penalty):
    cfg = apply_overrides(tiny_cfg(), sets)
    model = build_model(cfg, 20, 10)
    assert model.phases == ("recon",) and set(model.phase_parameters()) == {"recon"}
    assert not any(k.startswith("regularizer") for k in model.state_dict())  # nothing to train or save
    log, metrics = run_one_step(model, cfg)
    assert [name for name, _ in log] == ["recon"]
    n_enc_dec = sum(1 for k, _ in model.named_parameters() if k.startswith(("encoder", "decoder")))
    assert groups(dict(log)["recon"]) == {"encoder", "decoder"} and len(dict(log)["recon"]) == n_enc_dec
    assert set(metrics) == {"recon_loss", penalty, "loss"}
    weight = cfg.mmd_lambda if penalty == "mmd" else cfg.kl_weight
    torch.testing.assert_close(metrics["loss"], metrics["recon_loss"] + weight * metrics[penalty])


def test_penalty_weight_changes_the_update():
    def step(weight):
        cfg = apply_overrides(tiny_cfg(), ["regularizer=mmd", f"mmd_lambda={weight}"])
        torch.manual_seed(0)
        model = build_model(cfg, 20, 10)
        run_one_step(model, cfg)
        return model.encoder.net[0].weight.detach().clone()

    assert torch.equal(step(10), step(10)) and not torch.equal(step(10), step(0))


def test_l1_reconstruction_cost():
    cfg = apply_overrides(tiny_cfg(), ['recon_loss="l1"'])
    model = build_model(cfg, 20, 10)
    x = torch.rand(8, 20)
    z = model.encode(x)
    expected = (model.decode(z) - x).abs().sum(1).mean()
    torch.testing.assert_close(reconstruction_loss(model.decoder, z, x, "l1").detach(), expected)


def test_regularize_false_wins_over_the_regularizer_choice():
    model = build_model(apply_overrides(tiny_cfg(), ["regularize=false", "regularizer=mmd"]), 20, 10)
    assert model.regularizer is None and model.phases == ("recon",)


def test_penalty_model_errors_are_clear():
    with pytest.raises(AAEError, match="network.encoder=gaussian"):
        build_model(apply_overrides(tiny_cfg(), ["regularizer=kl"]), 20, 10)
    with pytest.raises(AAEError, match="unknown regularizer 'wasserstein'"):
        build_model(apply_overrides(tiny_cfg(), ["regularizer=wasserstein"]), 20, 10)
    with pytest.raises(AAEError, match="adversarial regularizer only"):
        build_model(
            apply_overrides(tiny_cfg(), ["regularizer=mmd", 'prior={"name": "mixture"}', "use_labels=true"]), 20, 10
        )
    with pytest.raises(AAEError, match="has no closed-form"):
        cfg = apply_overrides(
            tiny_cfg(), ["regularizer=mmd", "mmd_kernel=rbf", "mmd_closed_form=true", 'prior={"name": "uniform"}']
        )
        build_model(cfg, 20, 10)


@pytest.mark.parametrize("sets", [["regularizer=mmd", "mmd_kernel=rbf", "mmd_closed_form=true"], ["regularizer=kl"]])
def test_penalty_is_float32_under_bf16_autocast(sets):
    cfg = apply_overrides(tiny_cfg(), sets + ["network.encoder=gaussian"])
    model = build_model(cfg, 20, 10)
    opts = {n: make_optimizer(p, getattr(cfg, n)) for n, p in model.phase_parameters().items()}
    amp = partial(torch.autocast, device_type="cpu", dtype=torch.bfloat16)
    metrics = model.train_step(torch.rand(8, 20), torch.full((8,), -1), opts, torch.Generator().manual_seed(0), amp)
    assert all(torch.isfinite(v) for v in metrics.values())
    assert metrics[model.regularizer.name].dtype == torch.float32
