"""The one-phase penalty form shared by the WAE and the VAE (aae.models.penalty)."""

from functools import partial

import pytest
import torch

from aae.config import apply_overrides
from aae.models import build_model
from aae.training import make_optimizer
from model_helpers import groups, run_one_step, tiny_cfg


@pytest.mark.parametrize(
    "sets, penalty",
    [
        (["model=wae"], "mmd"),
        (["model=wae", "wae.kernel=rbf", "wae.closed_form=true", 'prior={"name": "mixture"}'], "mmd"),
        (["model=vae", "network.encoder=gaussian"], "kl"),
        (["model=vae", "network.encoder=gaussian", 'prior={"name": "mixture"}', "recon_loss=bce"], "kl"),
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
    weight = cfg.wae.weight if penalty == "mmd" else cfg.vae.kl_weight
    torch.testing.assert_close(metrics["loss"], metrics["recon_loss"] + weight * metrics[penalty])


@pytest.mark.parametrize("sets", [["model=wae", "wae.kernel=rbf", "wae.closed_form=true"], ["model=vae"]])
def test_penalty_is_float32_under_bf16_autocast(sets):
    cfg = apply_overrides(tiny_cfg(), sets + ["network.encoder=gaussian"])
    model = build_model(cfg, 20, 10)
    opts = {n: make_optimizer(p, cfg.optim[n]) for n, p in model.phase_parameters().items()}
    amp = partial(torch.autocast, device_type="cpu", dtype=torch.bfloat16)
    metrics = model.train_step(torch.rand(8, 20), torch.full((8,), -1), opts, torch.Generator().manual_seed(0), amp)
    assert all(torch.isfinite(v) for v in metrics.values())
    assert metrics[model.regularizer.name].dtype == torch.float32
