"""Model ``supervised`` (aae.models.supervised): style and content."""

import pytest
import torch

from aae.errors import AAEError
from aae.models import SupervisedAAE, build_model
from model_helpers import one_step, prefixes
from model_helpers import tiny_categorical as tiny_cat


def test_supervised_decoder_takes_the_label():
    cfg = tiny_cat("supervised")
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


def test_label_discriminator_judges_the_style_within_each_class():
    cfg = tiny_cat("supervised")
    assert build_model(cfg, 20, 4).regularizer.n_classes == 0  # the paper's model: q(z) as a whole
    cfg.supervised.label_discriminator = True
    torch.manual_seed(0)
    model = build_model(cfg, 20, 4)
    changed, order, _ = one_step(model, cfg)
    assert order == ["recon", "disc", "gen"] and prefixes(changed["disc"]) == {"regularizer"}
    # the same styles judged as class 0 and as class 1: the discriminator, and so the encoder's
    # adversarial cost, depends on the label
    z = torch.randn(8, 3)
    reg = model.regularizer
    as0, as1 = (
        reg.generator_loss(z, torch.zeros(8, dtype=torch.long)),
        reg.generator_loss(z, torch.ones(8, dtype=torch.long)),
    )
    assert not torch.allclose(as0, as1)
