"""Model ``wae`` (aae.models.wae): WAE-MMD."""

import pytest
import torch

from aae.config import apply_overrides
from aae.errors import AAEError
from aae.models import build_model
from model_helpers import run_one_step, tiny_cfg


def test_penalty_weight_changes_the_update():
    def step(weight):
        cfg = apply_overrides(tiny_cfg(), ["model=wae", f"wae.weight={weight}"])
        torch.manual_seed(0)
        model = build_model(cfg, 20, 10)
        run_one_step(model, cfg)
        return model.encoder.net[0].weight.detach().clone()

    assert torch.equal(step(10), step(10)) and not torch.equal(step(10), step(0))


def test_closed_form_mmd_needs_a_gaussian_or_mixture_prior():
    with pytest.raises(AAEError, match="has no closed-form"):
        cfg = apply_overrides(
            tiny_cfg(), ["model=wae", "wae.kernel=rbf", "wae.closed_form=true", 'prior={"name": "uniform"}']
        )
        build_model(cfg, 20, 10)
