"""Model ``aae`` (aae.models.aae): the adversarial autoencoder and its label-informed prior."""

import math

import pytest
import torch

from aae.config import apply_overrides
from aae.errors import AAEError
from aae.models import build_model
from model_helpers import groups, run_one_step, tiny_cfg


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
    cfg = apply_overrides(tiny_cfg(), ['prior={"name": "mixture"}', "aae.use_labels=true"])
    model = build_model(cfg, 20, 10)
    assert model.regularizer.discriminator.n_label_inputs == 11
    y = torch.tensor([0, 1, 2, -1, -1, 5, 9, 3])
    log, metrics = run_one_step(model, cfg, y)
    assert groups(dict(log)["disc"]) == {"discriminator"}


def test_build_errors_are_clear():
    with pytest.raises(AAEError, match="dimension 2 but the code size is 8"):
        build_model(apply_overrides(tiny_cfg(), ["network.code_dim=8", 'prior={"name": "mixture"}']), 20, 10)
    with pytest.raises(AAEError, match="component per class"):
        build_model(apply_overrides(tiny_cfg(), ["aae.use_labels=true"]), 20, 10)
    with pytest.raises(AAEError, match="recon_loss.*not one of"):
        build_model(apply_overrides(tiny_cfg(), ['recon_loss="l3"']), 20, 10)
    with pytest.raises(AAEError, match="unknown model"):
        build_model(apply_overrides(tiny_cfg(), ['model="gan"']), 20, 10)


def test_sample_and_decode_shapes():
    model = build_model(tiny_cfg(), 20, 10)
    x = model.sample(7, torch.Generator().manual_seed(0))
    assert x.shape == (7, 20) and x.min() >= 0 and x.max() <= 1
    assert model.encode(torch.rand(3, 20)).shape == (3, 2)


def test_label_weight_balances_labeled_examples():
    cfg = apply_overrides(tiny_cfg(), ['prior={"name": "mixture"}', "aae.use_labels=true", "aae.label_weight=4"])
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
