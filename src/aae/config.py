"""Run configuration: plain dataclasses, TOML/JSON files and ``--set key=value`` overrides.

A config is fully described by :class:`Config`: what every run has (data, networks, prior,
one optimizer per training phase, schedule, epochs...) plus one table of settings per model
family (``aae``, ``wae``, ``vae``, ``dimred``), read only by the models of that family.
Presets (``aae.presets``) are functions that return one. Unknown keys and values of the
wrong type raise :class:`AAEError` naming the key; :meth:`Config.validate` checks every
value before anything is written. Configs written by earlier versions (flat keys such as
``regularizer``, ``mmd_lambda`` or ``recon``) are converted on reading by :func:`upgrade`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aae.errors import AAEError

ENCODER_KINDS = ("deterministic", "gaussian", "universal")
ARCHS = ("mlp", "conv")
OUTPUTS = ("sigmoid", "linear")
OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("constant", "step", "exponential")
RECON_LOSSES = ("mse", "l1", "bce")
MMD_KERNELS = ("imq", "rbf")
HEADS = ("learned", "identity")
PRECISIONS = ("float32", "bf16")
ON_NAN = ("stop", "rollback")


@dataclass
class OptimConfig:
    """One phase's optimizer: ``sgd`` (with momentum) or ``adam``."""

    name: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.9
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    weight_decay: float = 0.0


def default_optimizers() -> dict[str, OptimConfig]:
    """The paper appendix's optimizers for the phases of every model here.

    ``recon`` updates encoder and decoder on the reconstruction cost, ``disc`` the
    discriminators, ``gen`` the encoder against them, ``classify`` q(y|x) on labeled examples.
    A model uses the entries of its own phases; a new phase adds its entry (``[optim.NAME]``).
    """
    return {
        "recon": OptimConfig("sgd", 0.01, 0.9),
        "disc": OptimConfig("sgd", 0.1, 0.1),
        "gen": OptimConfig("sgd", 0.1, 0.1),
        "classify": OptimConfig("sgd", 0.1, 0.9),
    }


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
    n_clusters: int = 0  # categorical models: size of the categorical code y (0: number of classes)


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
class AAEConfig:
    """Model ``aae``: label-informed regularization (paper §2.3)."""

    use_labels: bool = False  # the discriminator also sees a one-hot label (-1: an extra "no label" input)
    label_weight: float = 1.0  # weight of a labeled example in the adversarial losses


@dataclass
class WAEConfig:
    """Model ``wae`` (WAE-MMD): reconstruction + ``weight`` · MMD²(q(z), p(z))."""

    weight: float = 10.0  # λ
    kernel: str = "imq"  # imq (inverse multiquadratics) | rbf (Gaussian)
    scales: list[float] = field(default_factory=lambda: [0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0])  # C = 2·d·σ²·s
    closed_form: bool = False  # rbf + Gaussian / mixture prior: exact prior-side kernel expectations


@dataclass
class VAEConfig:
    """Model ``vae``: reconstruction + ``kl_weight`` · KL(q(z|x) || p(z)); needs a Gaussian encoder."""

    kl_weight: float = 1.0  # 1: the ELBO


@dataclass
class DimredConfig:
    """Models ``dimred`` and ``dimred-clustering`` (paper §7): representation W_C·y + z."""

    heads: str = "learned"  # learned | identity
    head_scale: float = 10.0  # identity heads: W_C = head_scale·I (needs code_dim = number of clusters)
    head_margin: float = 6.0  # learned heads: penalty on pairwise head distances below this threshold η
    head_weight: float = 1.0  # weight of that penalty in the reconstruction phase


@dataclass
class Config:
    """Everything that defines a training run."""

    name: str = "custom"
    # aae | autoencoder | wae | vae | supervised | semisupervised | clustering | dimred | dimred-clustering
    model: str = "aae"
    data: DataConfig = field(default_factory=DataConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    prior: dict[str, Any] = field(default_factory=lambda: {"name": "gaussian", "std": 1.0})
    recon_loss: str = "mse"  # mse (squared L2) | l1 | bce
    optim: dict[str, OptimConfig] = field(default_factory=default_optimizers)  # one optimizer per phase
    labeled_batch_size: int = 0  # mini-batch of labeled examples for a classification phase (0: batch_size)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    epochs: int = 20
    batch_size: int = 100
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    precision: str = "float32"  # float32 | bf16 (autocast forward passes; float32 master weights)
    threads: int = 0  # CPU threads for torch (0: leave torch's choice)
    checkpoint_every: int = 0  # also write the training state every N steps (0: at epoch ends only)
    on_nan: str = "stop"  # stop | rollback (reload the last checkpoint, halve every learning rate)
    # settings of one model family each
    aae: AAEConfig = field(default_factory=AAEConfig)
    wae: WAEConfig = field(default_factory=WAEConfig)
    vae: VAEConfig = field(default_factory=VAEConfig)
    dimred: DimredConfig = field(default_factory=DimredConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def validate(self) -> Config:
        """Check every value (ranges and choices); raise :class:`AAEError` naming the first bad one.

        What needs the model registry, the prior or the data (a model name, prior parameters,
        sizes against the number of classes) is checked by ``aae.models.check_config`` and
        when the model is built, still before a run writes anything.
        """
        for key, value, rule in _rules(self):
            problem = rule(value)
            if problem:
                raise AAEError(f"config key {key!r}: {value!r} {problem}")
        return self


Rule = typing.Callable[[Any], "str | None"]


def _at_least(low: float, strict: bool = False) -> Rule:
    def rule(v: Any) -> str | None:
        if isinstance(v, float) and not math.isfinite(v):
            return "must be a finite number"
        if v < low or (strict and v == low):
            return f"must be {'>' if strict else '>='} {low:g}"
        return None

    return rule


def _below(high: float, low: float = 0.0) -> Rule:
    def rule(v: Any) -> str | None:
        if not (math.isfinite(v) and low <= v < high):
            return f"must be in [{low:g}, {high:g})"
        return None

    return rule


def _one_of(choices: tuple[str, ...]) -> Rule:
    return lambda v: None if v in choices else f"is not one of {list(choices)}"


def _each(rule: Rule, nonempty: bool = False) -> Rule:
    def check(values: list) -> str | None:
        if nonempty and not values:
            return "must not be empty"
        for v in values:
            problem = rule(v)
            if problem:
                return f"holds {v!r}, which {problem}"
        return None

    return check


def _device(v: str) -> str | None:
    if v in ("auto", "cpu", "cuda") or (v.startswith("cuda:") and v[5:].isdigit()):
        return None
    return "is not auto, cpu, cuda or cuda:N"


def _optim_rules(name: str, o: OptimConfig) -> list[tuple[str, Any, Rule]]:
    k = f"optim.{name}."
    return [
        (k + "name", o.name, _one_of(OPTIMIZERS)),
        (k + "lr", o.lr, _at_least(0, strict=True)),
        (k + "momentum", o.momentum, _below(1)),
        (
            k + "betas",
            o.betas,
            lambda b: None if len(b) == 2 and not _each(_below(1))(b) else "must be two numbers in [0, 1)",
        ),
        (k + "weight_decay", o.weight_decay, _at_least(0)),
    ]


def _rules(c: Config) -> list[tuple[str, Any, Rule]]:
    """(key, value, rule) for every value of ``c``; a rule returns what is wrong, or None."""
    n, d, s = c.network, c.data, c.schedule
    positive_int, count = _at_least(1), _at_least(0)
    rules: list[tuple[str, Any, Rule]] = [
        ("name", c.name, lambda v: None if v.strip() else "must not be empty"),
        ("model", c.model, lambda v: None if v.strip() else "must not be empty"),
        ("recon_loss", c.recon_loss, _one_of(RECON_LOSSES)),
        ("labeled_batch_size", c.labeled_batch_size, count),
        ("schedule.kind", s.kind, _one_of(SCHEDULES)),
        ("schedule.milestones", s.milestones, _each(positive_int)),
        ("schedule.gamma", s.gamma, _at_least(0, strict=True)),
        ("epochs", c.epochs, positive_int),
        ("batch_size", c.batch_size, positive_int),
        ("seed", c.seed, count),
        ("device", c.device, _device),
        ("precision", c.precision, _one_of(PRECISIONS)),
        ("threads", c.threads, count),
        ("checkpoint_every", c.checkpoint_every, count),
        ("on_nan", c.on_nan, _one_of(ON_NAN)),
        ("data.dataset", d.dataset, lambda v: None if v.strip() else "must not be empty"),
        ("data.validation", d.validation, count),
        ("data.fold", d.fold, lambda v: None if 0 <= v <= 4 else "must be 0, 1, 2, 3 or 4"),
        ("data.n_labeled", d.n_labeled, lambda v: None if v == -1 or v >= 1 else "must be -1 (all) or >= 1"),
        ("network.code_dim", n.code_dim, positive_int),
        ("network.encoder", n.encoder, _one_of(ENCODER_KINDS)),
        ("network.noise_dim", n.noise_dim, count),
        ("network.arch", n.arch, _one_of(ARCHS)),
        ("network.hidden", n.hidden, _each(positive_int)),
        ("network.channels", n.channels, _each(positive_int, nonempty=True)),
        ("network.disc_hidden", n.disc_hidden, _each(positive_int)),
        ("network.output", n.output, _one_of(OUTPUTS)),
        ("network.init_std", n.init_std, _at_least(0)),
        ("network.dropout", n.dropout, _below(1)),
        ("network.input_noise", n.input_noise, _at_least(0)),
        ("network.disc_noise", n.disc_noise, _at_least(0)),
        (
            "network.n_clusters",
            n.n_clusters,
            lambda v: None if v == 0 or v >= 2 else "must be 0 (one per class) or >= 2",
        ),
        ("aae.label_weight", c.aae.label_weight, _at_least(0, strict=True)),
        ("wae.weight", c.wae.weight, _at_least(0)),
        ("wae.kernel", c.wae.kernel, _one_of(MMD_KERNELS)),
        ("wae.scales", c.wae.scales, _each(_at_least(0, strict=True), nonempty=True)),
        ("vae.kl_weight", c.vae.kl_weight, _at_least(0)),
        ("dimred.heads", c.dimred.heads, _one_of(HEADS)),
        ("dimred.head_scale", c.dimred.head_scale, _at_least(0, strict=True)),
        ("dimred.head_margin", c.dimred.head_margin, _at_least(0, strict=True)),
        ("dimred.head_weight", c.dimred.head_weight, _at_least(0)),
    ]
    if n.encoder == "universal":
        rules.append(
            ("network.noise_dim", n.noise_dim, lambda v: None if v >= 1 else "must be >= 1 for the universal encoder")
        )
    for name, o in c.optim.items():
        rules += _optim_rules(name, o)
    return rules


# ---------------------------------------------------------------- reading and writing

#: flat keys of configs written before the per-family tables: old key -> (table, new key)
_MOVED = {
    "use_labels": ("aae", "use_labels"),
    "label_weight": ("aae", "label_weight"),
    "mmd_lambda": ("wae", "weight"),
    "mmd_kernel": ("wae", "kernel"),
    "mmd_scales": ("wae", "scales"),
    "mmd_closed_form": ("wae", "closed_form"),
    "kl_weight": ("vae", "kl_weight"),
}
_MOVED_NETWORK = {
    "heads": "heads",
    "head_scale": "head_scale",
    "head_margin": "head_margin",
    "head_weight": "head_weight",
}
_PHASES = ("recon", "disc", "gen", "classify")


def upgrade(d: dict[str, Any]) -> dict[str, Any]:
    """A config dict in today's layout from one an earlier version wrote (unchanged if current).

    Earlier versions chose the WAE, VAE and plain autoencoder with ``regularizer`` /
    ``regularize`` under model ``aae``, kept the optimizers as top-level ``recon``, ``disc``,
    ``gen``, ``classify`` tables and the family settings as flat keys.
    """
    d = json.loads(json.dumps(d))  # a deep copy of plain data
    regularize, regularizer = d.pop("regularize", True), d.pop("regularizer", "adversarial")
    if d.get("model", "aae") == "aae":
        if regularize is False:
            d["model"] = "autoencoder"
        elif regularizer in ("mmd", "kl"):
            d["model"] = {"mmd": "wae", "kl": "vae"}[regularizer]
    def move(value: Any, table: str, key: str) -> None:
        target = d.setdefault(table, {})
        if not isinstance(target, dict):
            raise AAEError(f"config key {table!r} must be a table/object, got {target!r}")
        target[key] = value

    for old, (table, new) in _MOVED.items():
        if old in d:
            move(d.pop(old), table, new)
    net = d.get("network")
    if isinstance(net, dict):
        for old, new in _MOVED_NETWORK.items():
            if old in net:
                move(net.pop(old), "dimred", new)
    for phase in _PHASES:
        if phase in d and isinstance(d[phase], dict):
            move(d.pop(phase), "optim", phase)
    if "optim" in d and isinstance(d["optim"], dict):
        d["optim"] = {**{k: dataclasses.asdict(v) for k, v in default_optimizers().items()}, **d["optim"]}
    return d


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
        _, arg = typing.get_args(tp)
        if arg is not Any:
            return {str(k): _coerce(v, arg, f"{key}.{k}") for k, v in value.items()}
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
    """Build dataclass ``cls`` from a nested dict, refusing unknown keys and wrong types.

    A whole :class:`Config` is first brought to today's layout (:func:`upgrade`).
    """
    if cls is Config and not prefix:
        d = upgrade(d)
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


#: tables whose keys are free: the prior's parameters, and the optimizer of any phase
_OPEN_TABLES = ("prior", "optim")


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
                if i == 1 and parts[0] == "optim" and isinstance(node, dict):
                    node[p] = dataclasses.asdict(OptimConfig())  # a phase of a model's own
                else:
                    raise AAEError(f"unknown config key {'.'.join(parts[: i + 1])!r} in --set {item!r}")
            node = node[p]
        last = parts[-1]
        free = parts[0] in _OPEN_TABLES and len(parts) == 2
        if not isinstance(node, dict) or (last not in node and not free):
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
