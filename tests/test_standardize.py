"""data.standardize: per-pixel statistics of the training split, saved with the weights, and
every output (samples, reconstructions, figures, Parzen) back in [0, 1]."""

import json

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from aae.cli import main
from aae.config import Config, NetworkConfig
from aae.data.datasets import load_splits
from aae.data.splits import as_float
from aae.data.standardizer import Standardizer, standardize, unstandardize
from aae.errors import AAEError
from aae.models import build_model, reconstruction_loss
from aae.networks import CategoricalEncoder, Decoder, Encoder, Standardize, set_standardization
from conftest import TINY, train_args

STD = ["data.standardize=true", 'network.output="linear"']


def stats(d=6):
    return torch.linspace(0.2, 0.7, d), torch.linspace(0.1, 0.3, d)


def test_standardizer_round_trip():
    x = torch.randint(0, 256, (50, 6), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    x[:, 2] = 7  # a constant pixel must not divide by zero
    st = Standardizer.fit(x, chunk=16)
    z = st(x)
    torch.testing.assert_close(z.mean(0), torch.zeros(6), atol=1e-5, rtol=0)
    torch.testing.assert_close(z[:, [0, 1, 3]].std(0, unbiased=False), torch.ones(3), atol=1e-4, rtol=0)
    assert torch.isfinite(z).all() and st.std[2] == 1e-3
    torch.testing.assert_close(st.inverse(z), as_float(x))
    assert st.inverse(torch.full((1, 6), 1e3)).max() == 1  # clipped to [0, 1] for display
    # chunked float64 sums give the one-pass statistics
    torch.testing.assert_close(st.mean, as_float(x).mean(0))


def test_data_and_model_standardization_agree():
    """aae.data.Standardizer (data side) and aae.networks.Standardize (buffers in the model) are one arithmetic."""
    mean, std = stats()
    x, h = torch.rand(5, 6), torch.randn(5, 6) * 5
    st, module = Standardizer(mean, std), Standardize(6)
    set_standardization(module, mean, std)
    torch.testing.assert_close(st(x), standardize(x, mean, std), rtol=0, atol=0)
    torch.testing.assert_close(module(x), st(x), rtol=0, atol=0)
    torch.testing.assert_close(st.inverse(h), unstandardize(h, mean, std), rtol=0, atol=0)
    torch.testing.assert_close(module.inverse(h), st.inverse(h), rtol=0, atol=0)
    assert st.inverse(h).min() >= 0 and st.inverse(h).max() <= 1


def test_encoders_standardize_their_input_and_the_decoder_maps_back():
    mean, std = stats()
    x = torch.rand(5, 6)
    enc = Encoder(6, NetworkConfig(code_dim=2, hidden=[8]), standardize=True)
    cat = CategoricalEncoder(6, 3, NetworkConfig(code_dim=2, hidden=[8]), standardize=True)
    dec = Decoder(2, 6, hidden=[8], output="linear", standardize=True)
    for m in (enc, cat, dec):
        assert set_standardization(m, mean, std) == 1
    torch.testing.assert_close(enc(x), enc.net((x - mean) / std))
    torch.testing.assert_close(cat(x)[0], cat.y_head(cat.trunk((x - mean) / std)))
    z = torch.randn(5, 2) * 50  # far out: the decoded values are clipped to [0, 1]
    out = dec(z)
    torch.testing.assert_close(out, (dec.logits(z) * std + mean).clamp(0, 1))
    assert out.min() >= 0 and out.max() <= 1
    with pytest.raises(AAEError, match="needs a linear decoder output"):
        Decoder(2, 6, output="sigmoid", standardize=True)


def test_reconstruction_cost_is_in_standardized_units():
    mean, std = stats()
    dec = Decoder(2, 6, hidden=[8], output="linear", standardize=True)
    set_standardization(dec, mean, std)
    z, x = torch.randn(4, 2), torch.rand(4, 6)
    want = (((dec.logits(z) - (x - mean) / std) ** 2).sum(1)).mean()
    torch.testing.assert_close(reconstruction_loss(dec, z, x, "mse"), want)
    want_l1 = (dec.logits(z) - (x - mean) / std).abs().sum(1).mean()
    torch.testing.assert_close(reconstruction_loss(dec, z, x, "l1"), want_l1)


@pytest.mark.parametrize(
    "output, loss, msg",
    [("sigmoid", "mse", "needs a linear decoder output"), ("linear", "bce", "binary cross-entropy needs targets in")],
)
def test_bad_combinations_are_refused(output, loss, msg):
    cfg = Config(network=NetworkConfig(output=output, hidden=[8], disc_hidden=[8]), recon_loss=loss)
    cfg.data.standardize = True
    with pytest.raises(AAEError, match=msg):
        build_model(cfg, 6, 0)


def test_standardized_run_saves_its_statistics_and_outputs_pixels(tiny_npz, tmp_path, capsys):
    out = tmp_path / "run"
    sets = [*TINY, *STD]
    assert main(train_args(tiny_npz, out, 2, sets)) == 0
    weights = load_file(out / "model.safetensors")
    splits = load_splits(str(tiny_npz), validation=30)
    st = Standardizer.fit(splits.x_train)
    for part in ("encoder", "decoder"):
        np.testing.assert_allclose(weights[f"{part}.standardize.mean"], st.mean.numpy(), rtol=1e-6)
        np.testing.assert_allclose(weights[f"{part}.standardize.std"], st.std.numpy(), rtol=1e-6)
    summary = json.loads((out / "summary.json").read_text())
    assert 0 < summary["recon_mse"] < 1  # in pixel units, not standardized ones
    # training minimises the cost in standardized units: about one unit per pixel at the start
    first = json.loads((out / "metrics.jsonl").read_text().splitlines()[0])
    assert first["recon_loss"] > 10
    assert main(["sample", str(out), "-n", "5", "-o", str(tmp_path / "s.npy")]) == 0
    s = np.load(tmp_path / "s.npy")
    assert s.shape == (5, 64) and s.min() >= 0 and s.max() <= 1
    assert main(["eval", str(out), "--parzen", "--n-samples", "100"]) == 0
    after = json.loads((out / "summary.json").read_text())
    assert np.isfinite(after["parzen_ll"]) and after["parzen_sigma"] < 3
    # resumed from its checkpoint, the statistics come back with the weights
    assert main(["train", "--resume", str(out), "--epochs", "3", "--quiet"]) == 0
    again = load_file(out / "model.safetensors")
    np.testing.assert_array_equal(again["encoder.standardize.std"], weights["encoder.standardize.std"])


def test_standardize_with_a_sigmoid_decoder_is_one_line(tiny_npz, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(train_args(tiny_npz, out, 1, [*TINY, "data.standardize=true"])) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: data.standardize=true needs a linear decoder output") and err.count("\n") == 1
    assert not out.exists()
