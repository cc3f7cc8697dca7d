import pytest
import torch

from aae.config import apply_overrides
from aae.models import build_model
from aae.presets import PRESETS, get_preset
from aae.training import Trainer
from conftest import make_tiny_images


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_trains_an_epoch_on_tiny_data(name):
    """Each preset's model (with small layers) builds, checks its labels and trains one epoch."""
    cfg = apply_overrides(get_preset(name), ["network.hidden=[16, 16]", "network.disc_hidden=[8]", "batch_size=20"])
    x_np, y_np = make_tiny_images(200)
    x, y = torch.from_numpy(x_np).reshape(200, -1).float() / 255, torch.from_numpy(y_np)
    if cfg.data.n_labeled >= 0 or cfg.model in ("clustering", "imsat"):
        y[100:] = -1  # like the presets' label budgets: some examples unlabeled
    torch.manual_seed(0)
    tr = Trainer(build_model(cfg, 64, 10, (8, 8)), cfg, x, y)  # 8x8 images: presets may translate them
    tr.fit(1)
    assert all(torch.isfinite(torch.tensor(v)) for v in tr.history[0].values() if isinstance(v, float))
    if tr.model.capabilities.codes:
        assert tr.model.sample(3, torch.Generator().manual_seed(0)).shape == (3, 64)
    else:
        assert tr.model.eval().predict_proba(x[:3]).shape[0] == 3


def test_every_preset_has_a_row_in_the_presets_page():
    from pathlib import Path

    page = (Path(__file__).parents[1] / "docs" / "presets.md").read_text()
    missing = [name for name in PRESETS if f"| `{name}` |" not in page]
    assert not missing, f"docs/presets.md has no row for {missing}"
