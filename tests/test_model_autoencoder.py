"""Model ``autoencoder`` (aae.models.autoencoder) and the reconstruction costs of aae.models.base."""

import torch

from aae.config import apply_overrides
from aae.models import build_model, reconstruction_loss
from model_helpers import run_one_step, tiny_cfg


def test_without_regularization_only_reconstruction_runs():
    cfg = tiny_cfg(model="autoencoder")
    model = build_model(cfg, 20, 10)
    assert model.phases == ("recon",) and not any(k.startswith("regularizer") for k in model.state_dict())
    log, metrics = run_one_step(model, cfg)
    assert [name for name, _ in log] == ["recon"] and set(metrics) == {"recon_loss"}


def test_l1_reconstruction_cost():
    cfg = apply_overrides(tiny_cfg(), ['recon_loss="l1"'])
    model = build_model(cfg, 20, 10)
    x = torch.rand(8, 20)
    z = model.encode(x)
    expected = (model.decode(z) - x).abs().sum(1).mean()
    torch.testing.assert_close(reconstruction_loss(model.decoder, z, x, "l1").detach(), expected)
