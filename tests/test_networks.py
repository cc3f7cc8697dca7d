import copy
import math

import pytest
import torch

from aae.config import NetworkConfig
from aae.errors import AAEError
from aae.networks import CategoricalEncoder, Decoder, Discriminator, Encoder, init_normal_, mlp


def test_mlp_layout_and_output_activation():
    net = mlp(10, [7, 5], 3, output="sigmoid")
    dims = [(m.in_features, m.out_features) for m in net if isinstance(m, torch.nn.Linear)]
    assert dims == [(10, 7), (7, 5), (5, 3)]
    y = net(torch.randn(4, 10) * 100)
    assert y.shape == (4, 3) and (y >= 0).all() and (y <= 1).all()
    with pytest.raises(AAEError, match="unknown output"):
        mlp(2, [], 2, output="tanh")


def test_deterministic_encoder_is_a_function_of_x():
    enc = Encoder(12, NetworkConfig(code_dim=2, hidden=[16]))
    x = torch.rand(5, 12)
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(2)
    assert enc(x, g1).shape == (5, 2)
    torch.testing.assert_close(enc(x, g1), enc(x, g2))


def test_gaussian_encoder_reparameterises():
    enc = Encoder(12, NetworkConfig(code_dim=3, hidden=[16], encoder="gaussian"))
    x = torch.rand(4, 12)
    mu, logvar = enc.stats(x)
    assert mu.shape == logvar.shape == (4, 3)
    torch.testing.assert_close(enc(x, sample=False), mu)
    draws = torch.stack([enc(x, torch.Generator().manual_seed(s)) for s in range(2000)])
    torch.testing.assert_close(draws.mean(0), mu, atol=0.1, rtol=0)
    torch.testing.assert_close(draws.var(0).log(), logvar, atol=0.15, rtol=0)
    # gradients flow to both heads through the sample
    enc(x, torch.Generator().manual_seed(0)).sum().backward()
    last = enc.net[-1]
    assert last.weight.grad[:3].abs().sum() > 0 and last.weight.grad[3:].abs().sum() > 0


def test_universal_encoder_takes_noise_input():
    enc = Encoder(12, NetworkConfig(code_dim=2, hidden=[16], encoder="universal", noise_dim=4))
    assert enc.net[0].in_features == 16
    x = torch.rand(3, 12)
    a = enc(x, torch.Generator().manual_seed(1))
    b = enc(x, torch.Generator().manual_seed(2))
    assert a.shape == (3, 2) and not torch.allclose(a, b)
    torch.testing.assert_close(a, enc(x, torch.Generator().manual_seed(1)))
    with pytest.raises(AAEError, match="noise_dim"):
        Encoder(12, NetworkConfig(code_dim=2, hidden=[16], encoder="universal", noise_dim=0))
    with pytest.raises(AAEError, match="unknown encoder kind"):
        Encoder(12, NetworkConfig(code_dim=2, hidden=[16], encoder="stochastic"))


def test_decoder_sigmoid_and_linear():
    z = torch.randn(6, 2) * 10
    d = Decoder(2, 9, [8], "sigmoid")
    x = d(z)
    assert x.shape == (6, 9) and x.min() >= 0 and x.max() <= 1
    torch.testing.assert_close(torch.sigmoid(d.logits(z)), x)
    lin = Decoder(2, 9, [8], "linear")
    torch.testing.assert_close(lin(z), lin.logits(z))


def test_discriminator_with_label_inputs():
    d = Discriminator(2, [8], n_label_inputs=11)
    assert d.net[0].in_features == 13
    out = d(torch.randn(5, 2), torch.eye(11)[:5])
    assert out.shape == (5,)


def test_init_normal():
    net = mlp(500, [500], 500)
    init_normal_(net, 0.01)
    w = net[0].weight
    assert abs(w.std().item() - 0.01) < 5e-4 and net[0].bias.abs().max() == 0


IMAGE_SHAPES = [(28, 28), (3, 32, 32), (48, 48)]


@pytest.mark.parametrize("shape", IMAGE_SHAPES)
@pytest.mark.parametrize("kind", ["deterministic", "gaussian", "universal"])
def test_conv_encoder_and_decoder_shapes(shape, kind):
    d = math.prod(shape)
    enc = Encoder(d, NetworkConfig(code_dim=3, encoder=kind, noise_dim=2, arch="conv", channels=[4, 8, 8]), shape)
    assert [m.stride for m in enc.net.conv if isinstance(m, torch.nn.Conv2d)] == [(2, 2)] * 3
    assert enc.net.conv[0].in_channels == (shape[0] if len(shape) == 3 else 1)
    x = torch.rand(5, d)
    z = enc(x, torch.Generator().manual_seed(0))
    assert z.shape == (5, 3)
    dec = Decoder(3, d, output="sigmoid", arch="conv", image_shape=shape, channels=[4, 8, 8])
    xr = dec(z)
    assert xr.shape == (5, d) and xr.min() >= 0 and xr.max() <= 1
    torch.testing.assert_close(torch.sigmoid(dec.logits(z)), xr)
    lin = Decoder(3, d, output="linear", arch="conv", image_shape=shape, channels=[4, 8, 8])
    torch.testing.assert_close(lin(z), lin.logits(z))
    if kind == "gaussian":
        mu, logvar = enc.stats(x)
        assert mu.shape == logvar.shape == (5, 3)


def test_conv_universal_encoder_uses_its_noise():
    enc = Encoder(784, NetworkConfig(encoder="universal", noise_dim=4, arch="conv", channels=[4]), (28, 28))
    assert enc.net.out.in_features == 4 * 14 * 14 + 4
    x = torch.rand(3, 784)
    a, b = enc(x, torch.Generator().manual_seed(1)), enc(x, torch.Generator().manual_seed(2))
    assert not torch.allclose(a, b)
    torch.testing.assert_close(a, enc(x, torch.Generator().manual_seed(1)))


def test_conv_needs_images():
    with pytest.raises(AAEError, match="needs image data.*tabular"):
        Encoder(30, NetworkConfig(arch="conv"), None)
    with pytest.raises(AAEError, match=r"image shape \(3, 8, 8\) does not match the 100 values"):
        Decoder(2, 100, arch="conv", image_shape=(3, 8, 8))
    with pytest.raises(AAEError, match="below 1x1; use fewer network.channels"):
        Encoder(64, NetworkConfig(arch="conv", channels=[4, 4, 4, 4]), (8, 8))
    with pytest.raises(AAEError, match="unknown network arch 'rnn'"):
        Encoder(64, NetworkConfig(arch="rnn"))


def test_init_normal_reaches_conv_layers():
    dec = Decoder(2, 784, arch="conv", image_shape=(28, 28), channels=[64])
    init_normal_(dec, 0.01)
    w = dec.net.deconv[0].weight
    assert abs(w.std().item() - 0.01) < 1e-3 and dec.net.deconv[0].bias.abs().max() == 0


@pytest.mark.parametrize("shape", IMAGE_SHAPES)
def test_conv_categorical_encoder_shapes_and_classifier_parameters(shape):
    d = math.prod(shape)
    enc = CategoricalEncoder(d, 7, NetworkConfig(code_dim=3, arch="conv", channels=[4, 8], batchnorm=True), shape)
    logits, z = enc(torch.rand(5, d))
    assert logits.shape == (5, 7) and z.shape == (5, 3)
    convs = [m for m in enc.trunk.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [4, 8] and convs[0].in_channels == (shape[0] if len(shape) == 3 else 1)
    side = [s // 4 for s in shape[-2:]]
    assert enc.y_head.in_features == enc.z_head.in_features == 8 * side[0] * side[1]
    # q(y|x) = the conv trunk and the softmax head; the style head is not part of it
    ids = {id(p) for p in enc.classifier_parameters()}
    assert all(id(p) in ids for p in enc.trunk.parameters()) and id(enc.z_head.weight) not in ids
    with pytest.raises(AAEError, match="needs image data"):
        CategoricalEncoder(30, 3, NetworkConfig(arch="conv"))


def test_batchnorm_in_conv_stacks():
    shape = (3, 16, 16)
    enc = Encoder(768, NetworkConfig(arch="conv", channels=[4, 8], batchnorm=True), shape)
    dec = Decoder(2, 768, arch="conv", image_shape=shape, channels=[4, 8], batchnorm=True)
    bn2d = [m.num_features for m in (*enc.modules(), *dec.modules()) if isinstance(m, torch.nn.BatchNorm2d)]
    assert bn2d == [4, 8, 4]  # after each encoder convolution, between the decoder's transposed ones
    assert any(isinstance(m, torch.nn.BatchNorm1d) for m in dec.net.inp)
    plain = Encoder(768, NetworkConfig(arch="conv", channels=[4, 8]), shape)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in plain.modules())
    # training mode normalises per batch; eval mode uses the running statistics
    x = torch.rand(6, 768)
    enc.train()
    enc(x)
    enc.eval()
    torch.testing.assert_close(enc(x[:1]), enc(x)[:1])


def test_input_dropout_zeroes_a_fraction_scales_the_rest_and_replays_from_its_generator():
    """``input_dropout`` masks the encoder's input in training passes only (not in evaluation,
    not in a deterministic ``noise=False`` pass), keeps the mean, and draws from the generator."""
    from aae.networks import corrupt

    x = torch.ones(200, 50)
    out = corrupt(x, 0.0, torch.Generator().manual_seed(0), drop=0.2)
    kept = out != 0
    assert 0.75 < float(kept.float().mean()) < 0.85
    torch.testing.assert_close(out[kept], torch.full_like(out[kept], 1 / 0.8))
    assert torch.equal(out, corrupt(x, 0.0, torch.Generator().manual_seed(0), drop=0.2))
    assert corrupt(x, 0.0, None) is x
    enc = CategoricalEncoder(50, 3, NetworkConfig(hidden=[8], input_dropout=0.5)).train()
    g = lambda: torch.Generator().manual_seed(1)  # noqa: E731
    assert not torch.equal(enc(x[:4], g())[0], enc(x[:4], g(), noise=False)[0])
    assert torch.equal(enc(x[:4], g())[0], enc(x[:4], g())[0])
    enc.eval()
    assert torch.equal(enc(x[:4], g())[0], enc(x[:4], g(), noise=False)[0])
    plain = Encoder(50, NetworkConfig(hidden=[8], input_dropout=0.5)).train()
    assert not torch.equal(plain(x[:4], g()), plain.eval()(x[:4], g()))


def test_shift_images_translates_each_image_by_at_most_k_pixels_with_a_zero_border():
    from aae.networks import shift_images

    images = torch.rand(50, 2, 6, 7) + 0.5  # no zeros of their own: zeros are border
    g = torch.Generator().manual_seed(0)
    out = shift_images(images.reshape(50, -1), (2, 6, 7), 2, g).reshape(50, 2, 6, 7)
    seen = set()
    for a, b in zip(images, out):
        found = []
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                moved = torch.zeros_like(a)
                moved[:, max(dy, 0) : 6 + min(dy, 0), max(dx, 0) : 7 + min(dx, 0)] = a[
                    :, max(-dy, 0) : 6 + min(-dy, 0), max(-dx, 0) : 7 + min(-dx, 0)
                ]
                if torch.equal(moved, b):
                    found.append((dy, dx))
        assert len(found) == 1  # both channels moved alike, by one of the 25 shifts
        seen.add(found[0])
    assert len(seen) > 10  # shifts differ from image to image
    again = shift_images(images.reshape(50, -1), (2, 6, 7), 2, torch.Generator().manual_seed(0))
    assert torch.equal(again, out.reshape(50, -1))  # replays from its generator
    x = images.reshape(50, -1)
    assert shift_images(x, (2, 6, 7), 0, g) is x


def test_input_shift_acts_in_training_passes_only_and_needs_images():
    from aae.networks import shift_shape

    x = torch.rand(4, 64)
    g = lambda: torch.Generator().manual_seed(1)  # noqa: E731
    enc = CategoricalEncoder(64, 3, NetworkConfig(hidden=[8], input_shift=2), (8, 8)).train()
    assert not torch.equal(enc(x, g())[0], enc(x, g(), noise=False)[0])
    assert torch.equal(enc(x, g())[0], enc(x, g())[0])
    enc.eval()
    assert torch.equal(enc(x, g())[0], enc(x, g(), noise=False)[0])
    plain = Encoder(64, NetworkConfig(hidden=[8], input_shift=1), (1, 8, 8)).train()
    assert not torch.equal(plain(x, g()), plain.eval()(x, g()))
    with pytest.raises(AAEError, match=r"network.input_shift=2 translates images, and this data set has no image"):
        Encoder(64, NetworkConfig(hidden=[8], input_shift=2))
    with pytest.raises(AAEError, match=r"network.input_shift=8 is not smaller than the 8x8 images"):
        shift_shape(8, (8, 8), 64)


@pytest.mark.parametrize("arch", ["mlp", "conv"])
def test_decoder_dropout_acts_in_training_only(arch):
    """``dropout`` makes two training passes of the same code differ; evaluation passes are
    deterministic and equal to a decoder without dropout with the same weights."""
    torch.manual_seed(0)
    kw = dict(hidden=(16,), arch=arch, image_shape=(1, 8, 8), channels=(4,))
    dec = Decoder(3, 64, dropout=0.5, **kw)
    kept = copy.deepcopy(dec)
    for m in kept.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0  # the same weights, nothing dropped
    z = torch.randn(5, 3)
    dec.train()
    assert not torch.equal(dec(z), dec(z))
    dec.eval()
    torch.testing.assert_close(dec(z), kept.train()(z))
    assert not any(isinstance(m, torch.nn.Dropout) for m in Decoder(3, 64, **kw).modules())


def test_decoder_dropout_reaches_the_decoder_of_every_model_built_from_a_config():
    from aae.config import Config
    from aae.models import build_model

    for model in ("aae", "semisupervised"):
        cfg = Config(model=model)
        cfg.network.hidden, cfg.network.disc_hidden, cfg.network.decoder_dropout = [8], [8], 0.2
        built = build_model(cfg, 20, 3)
        drops = [m.p for m in built.decoder.modules() if isinstance(m, torch.nn.Dropout)]
        assert drops == [0.2]
        assert not any(isinstance(m, torch.nn.Dropout) for m in built.encoder.modules())
