"""Building blocks every model builder uses: the prior, the encoder / decoder pair, the initialisation."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from aae.config import Config
from aae.errors import AAEError
from aae.networks import Decoder, Encoder, init_normal_
from aae.priors import Prior, make_prior


def build_prior(cfg: Config) -> Prior:
    """The prior of ``cfg.prior`` (a table with ``name`` and the prior's parameters) for ``network.code_dim``.

    From Python, ``name`` may also be a sampler ``f(n, generator)`` or a :class:`Prior`.
    """
    kwargs = dict(cfg.prior)
    name = kwargs.pop("name", None)
    if not (isinstance(name, (str, Prior)) or callable(name)):
        raise AAEError("config table 'prior' needs a 'name' (e.g. gaussian, mixture, swissroll, module:function)")
    return make_prior(name, cfg.network.code_dim, **kwargs)


def network_kwargs(cfg: Config, image_shape: Sequence[int] | None) -> dict:
    """Keyword arguments of the decoder of ``cfg``: arch, image shape, channels, standardize."""
    net = cfg.network
    return {
        "arch": net.arch,
        "image_shape": image_shape,
        "channels": net.channels,
        "standardize": cfg.data.standardize,
    }


def build_encoder(cfg: Config, data_dim: int, image_shape: Sequence[int] | None = None) -> Encoder:
    """The encoder q(z|x) that ``cfg.network`` describes, for data of ``data_dim`` features."""
    return Encoder(data_dim, cfg.network, image_shape, cfg.data.standardize)


def build_decoder(cfg: Config, decoder_in: int, data_dim: int, image_shape: Sequence[int] | None = None) -> Decoder:
    """The decoder from ``decoder_in`` inputs (the code, plus a label or class code where the model has one)."""
    net = cfg.network
    arch = network_kwargs(cfg, image_shape)
    return Decoder(
        decoder_in, data_dim, list(reversed(net.hidden)), net.output, batchnorm=net.batchnorm,
        dropout=net.decoder_dropout, **arch,
    )  # fmt: skip


def initialized(model: nn.Module, cfg: Config) -> nn.Module:
    """``model`` with weights drawn from N(0, ``network.init_std``²) when that is > 0 (the paper's init)."""
    if cfg.network.init_std > 0:
        init_normal_(model, cfg.network.init_std)
    return model
