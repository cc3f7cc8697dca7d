"""Run configuration: plain dataclasses, TOML/JSON files and ``--set key=value`` overrides.

A config is fully described by :class:`Config`; presets (``aae.presets``) are functions
that return one. Unknown keys and values of the wrong type raise :class:`AAEError`
naming the key.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aae.errors import AAEError


@dataclass
class OptimConfig:
    """One phase's optimizer: ``sgd`` (with momentum) or ``adam``."""

    name: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.9
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    weight_decay: float = 0.0


@dataclass
class ScheduleConfig:
    """Learning-rate schedule applied to every phase, stepped once per epoch.

    ``constant``; ``step`` (multiply by ``gamma`` at each epoch in ``milestones``);
    ``exponential`` (multiply by ``gamma`` every epoch).
    """

    kind: str = "constant"
    milestones: list[int] = field(default_factory=list)
    gamma: float = 0.1


@dataclass
class NetworkConfig:
    """Sizes and kinds of the encoder, decoder and discriminator networks."""

    code_dim: int = 2
    encoder: str = "deterministic"  # deterministic | gaussian | universal
    noise_dim: int = 0  # noise inputs of the universal encoder
    arch: str = "mlp"  # mlp | conv (encoders and decoder of every model; images only; discriminators stay MLPs)
    hidden: list[int] = field(default_factory=lambda: [1000, 1000])  # mlp encoder; decoder mirrors it
    channels: list[int] = field(default_factory=lambda: [32, 64, 128])  # conv: per stride-2 layer; decoder mirrors
    disc_hidden: list[int] = field(default_factory=lambda: [1000, 1000])
    output: str = "sigmoid"  # decoder output: sigmoid (data in [0, 1]) | linear
    init_std: float = 0.0  # > 0: weights N(0, init_std²) as in the paper; 0: PyTorch default
    dropout: float = 0.0
    batchnorm: bool = False  # batch normalization before every hidden ReLU of the encoder and decoder (MLP or conv)
    input_noise: float = 0.0  # std of Gaussian noise added to the encoder's input while training
    disc_noise: float = 0.0  # std of Gaussian noise on every discriminator input, prior samples and codes alike
    n_clusters: int = 0  # semisupervised / clustering: size of the categorical code y (0: number of classes)
    # dimred (paper §7): representation W_C·y + z; cluster heads W_C learned, or fixed to head_scale·I
    heads: str = "learned"  # learned | identity
    head_scale: float = 10.0  # identity heads: W_C = head_scale·I (needs code_dim = number of clusters)
    head_margin: float = 6.0  # learned heads: penalty on pairwise head distances below this threshold η
    head_weight: float = 1.0  # weight of that penalty in the reconstruction phase


@dataclass
class DataConfig:
    """Which data set and how it is split."""

    dataset: str = "mnist"  # mnist | fashion-mnist | svhn | svhn+extra | tfd | path/to/file.npz or .npy
    validation: int = 10000  # training images held out for validation (tfd: its fold decides)
    fold: int = 0  # tfd: which of the 5 official folds (0-4)
    n_labeled: int = -1  # labels kept for label-informed training (-1: all), class-balanced by seed
    # per-pixel (x - mean) / std with the training split's statistics (saved with the weights);
    # needs network.output="linear"; samples, reconstructions and figures are mapped back to [0, 1]
    standardize: bool = False


@dataclass
class Config:
    """Everything that defines a training run."""

    name: str = "custom"
    model: str = "aae"  # aae | supervised | semisupervised | clustering | dimred | dimred-clustering
    data: DataConfig = field(default_factory=DataConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    prior: dict[str, Any] = field(default_factory=lambda: {"name": "gaussian", "std": 1.0})
    regularize: bool = True  # false: a plain autoencoder (the baseline)
    regularizer: str = "adversarial"  # adversarial (AAE) | mmd (WAE-MMD) | kl (VAE; needs network.encoder=gaussian)
    mmd_lambda: float = 10.0  # weight of MMD² in the WAE objective
    mmd_kernel: str = "imq"  # imq (inverse multiquadratics) | rbf (Gaussian)
    mmd_scales: list[float] = field(default_factory=lambda: [0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0])  # C = 2·d·σ²·s
    mmd_closed_form: bool = False  # rbf + Gaussian / mixture prior: exact prior-side kernel expectations
    kl_weight: float = 1.0  # weight of KL(q(z|x) || p(z)) in the VAE objective (1: the ELBO)
    use_labels: bool = False  # paper §2.3: the discriminator also sees a one-hot label
    label_weight: float = 1.0  # with use_labels: weight of a labeled example in the adversarial losses
    recon_loss: str = "mse"  # mse (squared L2) | l1 | bce
    recon: OptimConfig = field(default_factory=lambda: OptimConfig("sgd", 0.01, 0.9))
    disc: OptimConfig = field(default_factory=lambda: OptimConfig("sgd", 0.1, 0.1))
    gen: OptimConfig = field(default_factory=lambda: OptimConfig("sgd", 0.1, 0.1))
    classify: OptimConfig = field(default_factory=lambda: OptimConfig("sgd", 0.1, 0.9))  # semi-supervised phase
    labeled_batch_size: int = 0  # mini-batch of the semi-supervised classification phase (0: batch_size)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    epochs: int = 20
    batch_size: int = 100
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    precision: str = "float32"  # float32 | bf16 (autocast forward passes; float32 master weights)
    threads: int = 0  # CPU threads for torch (0: leave torch's choice)
    checkpoint_every: int = 0  # also write the training state every N steps (0: at epoch ends only)
    on_nan: str = "stop"  # stop | rollback (reload the last checkpoint, halve every learning rate)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check ``value`` against the annotation ``tp``; ints are accepted for floats."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise AAEError(f"config key {key!r} must be a table/object, got {value!r}")
        return from_dict(tp, value, key + ".")
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            try:
                return _coerce(value, arg, key)
            except AAEError:
                continue
        raise AAEError(f"config key {key!r}: {value!r} does not match {tp}")
    if tp is type(None):
        if value is None:
            return None
        raise AAEError(f"config key {key!r} must be null")
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise AAEError(f"config key {key!r} must be a list, got {value!r}")
        (arg,) = typing.get_args(tp)
        return [_coerce(v, arg, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise AAEError(f"config key {key!r} must be a table/object, got {value!r}")
        try:
            json.dumps(value)
        except (TypeError, ValueError) as e:
            raise AAEError(f"config key {key!r} holds a value that is not plain data: {e}") from e
        return dict(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise AAEError(f"config key {key!r} must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise AAEError(f"config key {key!r} must be an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise AAEError(f"config key {key!r} must be a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise AAEError(f"config key {key!r} must be a string, got {value!r}")
        return value
    return value


def from_dict(cls: type, d: dict[str, Any], prefix: str = "") -> Any:
    """Build dataclass ``cls`` from a nested dict, refusing unknown keys and wrong types."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise AAEError(
            f"unknown config key(s) {[prefix + k for k in unknown]}; known: {sorted(prefix + n for n in names)}"
        )
    kwargs = {k: _coerce(v, hints[k], prefix + k) for k, v in d.items()}
    return cls(**kwargs)


def parse_value(text: str) -> Any:
    """``--set`` values: JSON when it parses (numbers, true/false, lists), else a plain string."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return text


def apply_overrides(cfg: Config, overrides: list[str]) -> Config:
    """Return a copy of ``cfg`` with ``key.sub=value`` overrides applied and type-checked."""
    d = cfg.to_dict()
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise AAEError(f"--set expects key=value, got {item!r}")
        parts = key.strip().split(".")
        node = d
        for i, p in enumerate(parts[:-1]):
            if not isinstance(node, dict) or p not in node:
                raise AAEError(f"unknown config key {'.'.join(parts[: i + 1])!r} in --set {item!r}")
            node = node[p]
        last = parts[-1]
        # the prior table is free-form (validated by make_prior); everything else must exist
        if not isinstance(node, dict) or (last not in node and parts[0] != "prior"):
            raise AAEError(f"unknown config key {key!r} in --set {item!r}")
        node[last] = parse_value(text)
    return from_dict(Config, d)


def load_config_file(path: str | Path) -> Config:
    """Read a config from a ``.toml`` or ``.json`` file (keys as in :class:`Config`)."""
    p = Path(path)
    if not p.is_file():
        raise AAEError(f"config file not found: {p}")
    try:
        if p.suffix == ".toml":
            d = tomllib.loads(p.read_text())
        elif p.suffix == ".json":
            d = json.loads(p.read_text())
        else:
            raise AAEError(f"config file {p} must end in .toml or .json")
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise AAEError(f"cannot parse config file {p}: {e}") from e
    if not isinstance(d, dict):
        raise AAEError(f"config file {p} must hold a table/object at the top level")
    return from_dict(Config, d)


def save_config(cfg: Config, path: str | Path) -> None:
    Path(path).write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")
