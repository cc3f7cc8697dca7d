"""Building blocks: encoders (three kinds, paper §2), decoder, discriminator; MLP or convolutional.

Shapes: data ``x`` is ``(n, data_dim)`` in [0, 1] (flattened images), codes ``z`` are
``(n, code_dim)``. The paper's default is two hidden layers of 1000 ReLU units for all
three networks, a linear code layer and a sigmoid decoder output (``arch="mlp"``).

``arch="conv"`` (images only) gives the encoder stride-2 convolutions and a linear code
layer (the semi-supervised encoder: a convolutional trunk and its two linear heads), and the
decoder a linear layer and stride-2 transposed convolutions; inputs and outputs stay
flattened ``(n, c*h*w)`` rows, reshaped with the image shape inside. ``batchnorm`` adds batch
normalization before the hidden ReLUs of either kind. The discriminator sees codes, not
images, so it is always an MLP.

With ``standardize`` (config ``data.standardize``) encoders standardize their input per
dimension and the linear decoder predicts standardized values that ``forward`` maps back to
[0, 1] (:class:`Standardize`): everything outside the model stays in data units.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from aae.config import ARCHS, ENCODER_KINDS, STANDARDIZE_NEEDS_LINEAR, NetworkConfig
from aae.data.standardizer import standardize, unstandardize
from aae.errors import AAEError

#: ``(h, w)`` or ``(c, h, w)`` of the flattened examples; None for data that are no images
ImageShape = Sequence[int] | None


def mlp(
    in_dim: int,
    hidden: Sequence[int],
    out_dim: int,
    output: str = "linear",
    dropout: float = 0.0,
    batchnorm: bool = False,
) -> nn.Sequential:
    """``in_dim -> hidden... -> out_dim`` with ReLU between layers and ``output`` activation.

    ``output`` is ``"linear"`` or ``"sigmoid"``; ``batchnorm`` normalizes every hidden layer
    before its ReLU.
    """
    layers: list[nn.Module] = []
    d = in_dim
    for h in hidden:
        layers += [nn.Linear(d, h), *([nn.BatchNorm1d(h)] if batchnorm else []), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        d = h
    layers.append(nn.Linear(d, out_dim))
    if output == "sigmoid":
        layers.append(nn.Sigmoid())
    elif output != "linear":
        raise AAEError(f"unknown output activation {output!r}; choose 'linear' or 'sigmoid'")
    return nn.Sequential(*layers)


def init_normal_(module: nn.Module, std: float) -> None:
    """Re-initialise every linear and convolution layer with weights N(0, std²), zero biases (paper appendix)."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, std)
            nn.init.zeros_(m.bias)


def corrupt(x: torch.Tensor, std: float, generator: torch.Generator | None, drop: float = 0.0) -> torch.Tensor:
    """``x`` plus Gaussian noise of ``std``, then each value zeroed with probability ``drop`` and
    the rest scaled by 1 / (1 - drop) (regularizers of the encoder's input, drawn from
    ``generator`` so that runs replay); ``x`` itself when both are 0."""
    if std > 0:
        x = x + std * torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    if drop > 0:
        keep = torch.rand(x.shape, generator=generator, device=x.device) >= drop
        x = x * keep.to(x.dtype) / (1 - drop)
    return x


def shift_images(x: torch.Tensor, chw: tuple[int, int, int], k: int, generator: torch.Generator | None) -> torch.Tensor:
    """Each flattened image of ``x`` ``(n, c·h·w)`` translated by its own whole number of pixels
    in [-k, k] along each axis (drawn from ``generator``), the uncovered border 0: the small
    translations that leave a digit's class alone. ``x`` itself when ``k`` is 0."""
    if k == 0:
        return x
    n, (c, h, w) = len(x), chw
    padded = F.pad(x.reshape(n, c, h, w), (k, k, k, k))
    dy, dx = torch.randint(0, 2 * k + 1, (2, n, 1), generator=generator, device=x.device)
    rows = dy + torch.arange(h, device=x.device)  # (n, h): the rows of the padded image each keeps
    cols = dx + torch.arange(w, device=x.device)
    batch = torch.arange(n, device=x.device)[:, None, None]
    # advanced indices around the channel slice go first: (n, h, w, c)
    return padded[batch, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2).reshape(n, -1)


def shift_shape(
    input_shift: int, image_shape: Sequence[int] | None, data_dim: int, key: str = "network.input_shift"
) -> tuple[int, int, int] | None:
    """``(c, h, w)`` of the images that ``input_shift`` > 0 translates (None when 0); refused
    for data without an image shape or shifts as large as the image (the message names ``key``)."""
    if input_shift == 0:
        return None
    if image_shape is None:
        raise AAEError(
            f"{key}={input_shift} translates images, and this data set has no image shape "
            f"(tabular data or non-square arrays); set {key}=0"
        )
    chw = image_chw(image_shape, data_dim)
    if input_shift >= min(chw[1:]):
        raise AAEError(f"{key}={input_shift} is not smaller than the {chw[1]}x{chw[2]} images")
    return chw


def image_chw(image_shape: Sequence[int] | None, data_dim: int) -> tuple[int, int, int]:
    """``(channels, height, width)`` of flattened images of ``data_dim`` values; ``(h, w)`` means one channel."""
    if image_shape is None:
        raise AAEError(
            "network.arch='conv' needs image data, and this data set has no image shape (tabular data or "
            "non-square arrays); use network.arch='mlp'"
        )
    shape = tuple(int(s) for s in image_shape)
    if len(shape) == 2:
        shape = (1, *shape)
    if len(shape) != 3 or math.prod(shape) != data_dim:
        raise AAEError(f"image shape {tuple(image_shape)} does not match the {data_dim} values of each example")
    return shape


def conv_sizes(height: int, width: int, n_layers: int) -> list[tuple[int, int]]:
    """Spatial sizes before and after each stride-2 layer (kernel 4, padding 1: halves, rounding down)."""
    sizes = [(height, width)]
    for _ in range(n_layers):
        h, w = sizes[-1]
        if h < 2 or w < 2:
            raise AAEError(
                f"{n_layers} stride-2 convolutions shrink {height}x{width} images below 1x1; use fewer network.channels"
            )
        sizes.append((h // 2, w // 2))
    return sizes


def conv_layers(image_shape: tuple[int, int, int], channels: Sequence[int], batchnorm: bool = False) -> nn.Sequential:
    """Stride-2 convolutions (kernel 4, padding 1, ReLU) from the image's channels through ``channels``;
    ``batchnorm`` adds batch normalization before each ReLU. Images too small for the stack are refused."""
    if not channels:
        raise AAEError("network.arch='conv' needs at least one entry in network.channels")
    conv_sizes(image_shape[1], image_shape[2], len(channels))
    layers: list[nn.Module] = []
    c = image_shape[0]
    for ch in channels:
        layers += [nn.Conv2d(c, ch, 4, stride=2, padding=1), *([nn.BatchNorm2d(ch)] if batchnorm else []), nn.ReLU()]
        c = ch
    return nn.Sequential(*layers)


def conv_features(image_shape: tuple[int, int, int], channels: Sequence[int]) -> int:
    """Features per image after :func:`conv_layers`: last channels x smallest height x smallest width."""
    fh, fw = conv_sizes(image_shape[1], image_shape[2], len(channels))[-1]
    return channels[-1] * fh * fw


class ConvFeatures(nn.Module):
    """``(n, c*h*w) -> (n, n_features)``: flattened rows reshaped to images, :func:`conv_layers`, flattened
    (the shared trunk of the semi-supervised encoder with ``arch="conv"``)."""

    def __init__(self, image_shape: tuple[int, int, int], channels: Sequence[int], batchnorm: bool = False):
        super().__init__()
        self.image_shape = image_shape
        self.conv = conv_layers(image_shape, channels, batchnorm)
        self.n_features = conv_features(image_shape, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x.reshape(-1, *self.image_shape)).flatten(1)


class ConvEncoderNet(nn.Module):
    """``(n, c*h*w + extra) -> (n, out_dim)``: :func:`conv_layers` on the image part, then one linear
    layer on the flattened features and the ``extra`` inputs (the universal encoder's noise, which
    thus enters after the convolutions)."""

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        channels: Sequence[int],
        out_dim: int,
        extra: int = 0,
        dropout=0.0,
        batchnorm: bool = False,
    ):
        super().__init__()
        self.image_shape = image_shape
        self.conv = conv_layers(image_shape, channels, batchnorm)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.out = nn.Linear(conv_features(image_shape, channels) + extra, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d = math.prod(self.image_shape)
        h = self.conv(x[:, :d].reshape(-1, *self.image_shape)).flatten(1)
        if x.shape[1] > d:
            h = torch.cat([h, x[:, d:]], 1)
        return self.out(self.dropout(h))


class ConvDecoderNet(nn.Module):
    """``(n, code_dim) -> (n, c*h*w)`` before the output activation: a linear layer (ReLU) to the
    smallest feature map, then stride-2 transposed convolutions mirroring :class:`ConvEncoderNet`'s
    (ReLU between them), the last one to the image's channels. ``batchnorm`` normalizes before
    every ReLU."""

    def __init__(
        self,
        code_dim: int,
        image_shape: tuple[int, int, int],
        channels: Sequence[int],
        batchnorm: bool = False,
        dropout: float = 0.0,
    ):
        super().__init__()
        if not channels:
            raise AAEError("network.arch='conv' needs at least one entry in network.channels")
        c, h, w = image_shape
        sizes = conv_sizes(h, w, len(channels))[::-1]  # smallest first
        chans = list(reversed(channels))
        self.start = (chans[0], *sizes[0])
        n_start = math.prod(self.start)
        self.inp = nn.Sequential(
            nn.Linear(code_dim, n_start),
            *([nn.BatchNorm1d(n_start)] if batchnorm else []),
            nn.ReLU(),
            *([nn.Dropout(dropout)] if dropout > 0 else []),
        )
        layers: list[nn.Module] = []
        for i, (c_in, c_out) in enumerate(zip(chans, [*chans[1:], c])):
            (h0, w0), (h1, w1) = sizes[i], sizes[i + 1]
            # each transposed convolution doubles the size; output_padding adds back the row or
            # column that the encoder's rounding down dropped (odd sizes such as 7 in 28 -> 14 -> 7 -> 3)
            layers.append(nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, output_padding=(h1 - 2 * h0, w1 - 2 * w0)))
            if i < len(chans) - 1:
                layers += [*([nn.BatchNorm2d(c_out)] if batchnorm else []), nn.ReLU()]
        self.deconv = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.deconv(self.inp(z).reshape(-1, *self.start)).flatten(1)


class Standardize(nn.Module):
    """Per-dimension standardization ``(x - mean) / std`` (``data.standardize``, the paper's TFD and
    SVHN preprocessing). ``mean`` and ``std`` ``(d,)`` are buffers, in the units of the data
    ([0, 1] for images), so they are saved with the weights; :func:`set_standardization` fills them
    with the training split's statistics."""

    def __init__(self, dim: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return standardize(x, self.mean, self.std)

    def inverse(self, h: torch.Tensor) -> torch.Tensor:
        """Standardized values back to data units, clipped to [0, 1] (images)."""
        return unstandardize(h, self.mean, self.std)


def set_standardization(model: nn.Module, mean: torch.Tensor, std: torch.Tensor) -> int:
    """Copy the per-dimension ``mean`` and ``std`` ``(d,)`` into every :class:`Standardize` of
    ``model`` (encoder input, decoder output); returns how many there were."""
    found = [m for m in model.modules() if isinstance(m, Standardize)]
    with torch.no_grad():
        for m in found:
            m.mean.copy_(mean)
            m.std.copy_(std)
    return len(found)


class Encoder(nn.Module):
    """q(z|x). ``forward(x, generator) -> z`` of shape ``(n, code_dim)``, as ``net`` (the
    ``[network]`` table: ``code_dim``, ``encoder``, ``hidden``, ``dropout``, ``batchnorm``, the
    ``input_*`` corruptions, ``arch``, ``channels``) describes it.

    kinds (``network.encoder``, paper §2):
      - ``deterministic``: z = f(x)
      - ``gaussian``: z ~ N(μ(x), σ(x)²), reparameterised; ``stats(x)`` gives (μ, log σ²)
      - ``universal``: z = f(x, η), η ~ N(0, I) of size ``noise_dim`` concatenated to x

    ``arch="conv"`` replaces the MLP by :class:`ConvEncoderNet` (``hidden`` unused; ``channels``
    per stride-2 layer; ``image_shape`` ``(h, w)`` or ``(c, h, w)`` of the flattened inputs).
    ``standardize``: inputs in data units are standardized per dimension first (:class:`Standardize`).
    """

    def __init__(
        self, data_dim: int, net: NetworkConfig | None = None, image_shape: ImageShape = None, standardize: bool = False
    ):
        super().__init__()
        n = net or NetworkConfig()
        kind = n.encoder
        if kind not in ENCODER_KINDS:
            raise AAEError(f"unknown encoder kind {kind!r}; choose one of {list(ENCODER_KINDS)}")
        if kind == "universal" and n.noise_dim < 1:
            raise AAEError("the universal encoder needs noise_dim >= 1")
        self.kind, self.code_dim = kind, n.code_dim
        self.input_noise, self.input_dropout = n.input_noise, n.input_dropout
        self.input_shift, self.shift_chw = n.input_shift, shift_shape(n.input_shift, image_shape, data_dim)
        self.noise_dim = n.noise_dim if kind == "universal" else 0
        out = 2 * n.code_dim if kind == "gaussian" else n.code_dim
        self.standardize = Standardize(data_dim) if standardize else None
        if n.arch == "conv":
            shape = image_chw(image_shape, data_dim)
            self.net = ConvEncoderNet(shape, n.channels, out, self.noise_dim, n.dropout, n.batchnorm)
        elif n.arch == "mlp":
            self.net = mlp(data_dim + self.noise_dim, n.hidden, out, dropout=n.dropout, batchnorm=n.batchnorm)
        else:
            raise AAEError(f"unknown network arch {n.arch!r}; choose one of {list(ARCHS)}")

    def stats(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(mean, log-variance) of q(z|x); log-variance is None for the deterministic kinds."""
        if self.training:  # shift_images returns x itself when input_shift is 0
            x = shift_images(x, self.shift_chw, self.input_shift, generator)
        if self.standardize is not None:
            x = self.standardize(x)
        if self.training:
            x = corrupt(x, self.input_noise, generator, self.input_dropout)
        if self.noise_dim:
            eta = torch.randn(len(x), self.noise_dim, generator=generator, device=x.device, dtype=x.dtype)
            x = torch.cat([x, eta], 1)
        h = self.net(x)
        if self.kind == "gaussian":
            mu, logvar = h.chunk(2, dim=1)
            return mu, logvar.clamp(-30.0, 20.0)
        return h, None

    @staticmethod
    def reparameterize(
        mu: torch.Tensor, logvar: torch.Tensor | None, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """A differentiable draw z = μ + σ·ε of N(μ, exp(logvar)); ``mu`` itself when ``logvar`` is None."""
        if logvar is None:
            return mu
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + (0.5 * logvar).exp() * eps

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None, sample: bool = True) -> torch.Tensor:
        mu, logvar = self.stats(x, generator)
        return self.reparameterize(mu, logvar if sample else None, generator)


class Decoder(nn.Module):
    """p(x|z): ``forward(z) -> x̂`` of shape ``(n, data_dim)``.

    ``output="sigmoid"`` maps to [0, 1]; ``logits(z)`` gives the pre-sigmoid values so the
    BCE cost can be computed stably. ``output="linear"`` is for standardized real data.
    ``arch="conv"``: :class:`ConvDecoderNet` (see :class:`Encoder`).

    ``standardize`` (needs ``output="linear"``): the network predicts standardized values
    (``logits(z)``, what the reconstruction cost compares with the standardized input), and
    ``forward`` maps them back to data units in [0, 1] with :meth:`Standardize.inverse`.
    ``dropout``: after every hidden ReLU while training (conv: after the first, linear, layer).
    """

    def __init__(
        self,
        code_dim: int,
        data_dim: int,
        hidden: Sequence[int] = (1000, 1000),
        output: str = "sigmoid",
        batchnorm: bool = False,
        arch: str = "mlp",
        image_shape: Sequence[int] | None = None,
        channels: Sequence[int] = (32, 64, 128),
        standardize: bool = False,
        dropout: float = 0.0,
    ):
        super().__init__()
        if output not in ("sigmoid", "linear"):
            raise AAEError(f"unknown decoder output {output!r}; choose 'sigmoid' or 'linear'")
        if standardize and output != "linear":
            raise AAEError(STANDARDIZE_NEEDS_LINEAR)
        self.output = output
        self.standardize = Standardize(data_dim) if standardize else None
        if arch == "conv":
            self.net = ConvDecoderNet(code_dim, image_chw(image_shape, data_dim), channels, batchnorm, dropout)
        elif arch == "mlp":
            self.net = mlp(code_dim, hidden, data_dim, dropout=dropout, batchnorm=batchnorm)
        else:
            raise AAEError(f"unknown network arch {arch!r}; choose one of {list(ARCHS)}")

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.net(z)
        if self.standardize is not None:
            return self.standardize.inverse(h)
        return torch.sigmoid(h) if self.output == "sigmoid" else h


class Discriminator(nn.Module):
    """D(z[, y]) -> logit of "z came from the prior", shape ``(n,)``.

    With ``n_label_inputs > 0`` it also receives a one-hot label of that width (the
    paper's label-informed regularization: classes plus one "unlabeled" slot).
    """

    def __init__(self, code_dim: int, hidden: Sequence[int] = (1000, 1000), n_label_inputs: int = 0):
        super().__init__()
        self.n_label_inputs = n_label_inputs
        self.net = mlp(code_dim + n_label_inputs, hidden, 1)

    def forward(self, z: torch.Tensor, label_onehot: torch.Tensor | None = None) -> torch.Tensor:
        if self.n_label_inputs:
            z = torch.cat([z, label_onehot], 1)
        return self.net(z).squeeze(1)


class CategoricalEncoder(nn.Module):
    """q(y, z | x) of the semi-supervised AAE (paper §5, Fig. 8): a shared trunk, then a softmax
    head y (``n_classes`` logits) and a linear style head z (``style_dim`` = ``network.code_dim``).

    ``net`` as for :class:`Encoder` (its ``encoder`` kind and ``noise_dim`` unused). The
    trunk is an MLP (``hidden``; the heads read its last layer) or, with ``arch="conv"``,
    :class:`ConvFeatures` (``channels``; the heads read the flattened feature maps, as the
    conv :class:`Encoder`'s code layer does). ``standardize``: see :class:`Encoder`.
    ``forward(x, generator) -> (logits (n, n_classes), z (n, style_dim))``.
    """

    def __init__(
        self,
        data_dim: int,
        n_classes: int,
        net: NetworkConfig | None = None,
        image_shape: ImageShape = None,
        standardize: bool = False,
    ):
        super().__init__()
        n = net or NetworkConfig()
        self.n_classes, self.style_dim = n_classes, n.code_dim
        self.input_noise, self.input_dropout = n.input_noise, n.input_dropout
        self.input_shift, self.shift_chw = n.input_shift, shift_shape(n.input_shift, image_shape, data_dim)
        self.standardize = Standardize(data_dim) if standardize else None
        if n.arch == "conv":
            features = ConvFeatures(image_chw(image_shape, data_dim), n.channels, n.batchnorm)
            width = features.n_features
            self.trunk = nn.Sequential(features, *([nn.Dropout(n.dropout)] if n.dropout > 0 else []))
        elif n.arch == "mlp":
            if not n.hidden:
                raise AAEError("the semi-supervised encoder needs at least one hidden layer (shared by its two heads)")
            trunk = mlp(data_dim, n.hidden[:-1], n.hidden[-1], dropout=n.dropout, batchnorm=n.batchnorm)
            if n.batchnorm:
                trunk.append(nn.BatchNorm1d(n.hidden[-1]))
            self.trunk = nn.Sequential(*trunk, nn.ReLU())
            width = n.hidden[-1]
        else:
            raise AAEError(f"unknown network arch {n.arch!r}; choose one of {list(ARCHS)}")
        self.y_head = nn.Linear(width, n_classes)
        self.z_head = nn.Linear(width, n.code_dim)

    def forward(
        self, x: torch.Tensor, generator: torch.Generator | None = None, noise: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(logits (n, K), style (n, style_dim))`` of ``x`` ``(n, d)``; in training mode ``x`` gets
        the input shift, noise and dropout unless ``noise=False`` (a deterministic pass, e.g. for VAT)."""
        if self.training and noise:  # shift_images returns x itself when input_shift is 0
            x = shift_images(x, self.shift_chw, self.input_shift, generator)
        if self.standardize is not None:
            x = self.standardize(x)
        if self.training and noise:
            x = corrupt(x, self.input_noise, generator, self.input_dropout)
        h = self.trunk(x)
        return self.y_head(h), self.z_head(h)

    def classifier_parameters(self) -> list[nn.Parameter]:
        """The parameters of q(y|x): shared layers and the y head (what the classification phase trains)."""
        return [*self.trunk.parameters(), *self.y_head.parameters()]
