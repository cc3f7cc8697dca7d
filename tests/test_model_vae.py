"""Model ``vae`` (aae.models.vae)."""

import pytest
import torch

from aae.config import apply_overrides
from aae.errors import AAEError
from aae.models import build_model
from model_helpers import run_one_step, tiny_cfg


def test_vae_needs_a_gaussian_encoder():
    with pytest.raises(AAEError, match="network.encoder=gaussian"):
        build_model(apply_overrides(tiny_cfg(), ["model=vae"]), 20, 10)


def test_vae_trains_encoder_and_decoder_on_the_negative_elbo():
    cfg = apply_overrides(tiny_cfg(), ["model=vae", "network.encoder=gaussian", "recon_loss=bce"])
    model = build_model(cfg, 20, 10)
    log, metrics = run_one_step(model, cfg)
    assert [name for name, _ in log] == ["recon"] and metrics["kl"] >= 0
    torch.testing.assert_close(metrics["loss"], metrics["recon_loss"] + cfg.vae.kl_weight * metrics["kl"])
