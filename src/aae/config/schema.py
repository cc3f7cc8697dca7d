"""The config dataclasses: :class:`Config`, its shared tables, and the registry of the model families' tables."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from aae.config.checks import Rule, conflict, rules
from aae.errors import AAEError


@dataclass
class OptimConfig:
    """One phase's optimizer: ``sgd`` (with momentum) or ``adam``."""

    name: str = "sgd"  # sgd | adam
    lr: float = 0.01  # learning rate (before the schedule's factor)
    momentum: float = 0.9  # sgd: momentum
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])  # adam: β1, β2
    weight_decay: float = 0.0  # L2 penalty on the phase's parameters
    # > 0: rescale the phase's gradients to at most this L2 norm (over all its parameters) before
    # each step; a guard against the rare huge generator gradient of a discriminator that wins
    clip_norm: float = 0.0


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
    ``exponential`` (multiply by ``gamma`` every epoch). ``warmup_steps`` > 0 also scales every
    learning rate by ``(step + 1) / warmup_steps`` over the run's first mini-batches.
    """

    kind: str = "constant"  # constant | step | exponential
    milestones: list[int] = field(default_factory=list)  # step: the epochs at which the rates are multiplied by gamma
    gamma: float = 0.1  # the factor of a step, or of every epoch (exponential)
    warmup_steps: int = 0  # > 0: learning rates rise linearly over the run's first so many mini-batches


@dataclass
class NetworkConfig:
    """Sizes and kinds of the encoder, decoder and discriminator networks."""

    code_dim: int = 2  # size of the code z (the style, for the models with a categorical y)
    encoder: str = "deterministic"  # deterministic | gaussian | universal
    noise_dim: int = 0  # noise inputs of the universal encoder
    arch: str = "mlp"  # mlp | conv (encoders and decoder of every model; images only; discriminators stay MLPs)
    hidden: list[int] = field(default_factory=lambda: [1000, 1000])  # mlp encoder; decoder mirrors it
    channels: list[int] = field(default_factory=lambda: [32, 64, 128])  # conv: per stride-2 layer; decoder mirrors
    disc_hidden: list[int] = field(default_factory=lambda: [1000, 1000])  # hidden layers of every discriminator
    output: str = "sigmoid"  # decoder output: sigmoid (data in [0, 1]) | linear
    init_std: float = 0.0  # > 0: weights N(0, init_std²) as in the paper; 0: PyTorch default
    dropout: float = 0.0  # after every hidden ReLU of the encoder
    decoder_dropout: float = 0.0  # after every hidden ReLU of the decoder (conv: after its first layer)
    batchnorm: bool = False  # batch normalization before every hidden ReLU of the encoder and decoder (MLP or conv)
    input_noise: float = 0.0  # std of Gaussian noise added to the encoder's input while training
    input_dropout: float = 0.0  # probability of zeroing each input value of the encoder while training
    # images only: the encoder's input, while training, is each image translated by up to this many
    # pixels along each axis (the decoder still reconstructs the image as it is)
    input_shift: int = 0
    disc_noise: float = 0.0  # std of Gaussian noise on every discriminator input, prior samples and codes alike
    n_clusters: int = 0  # categorical models: size of the categorical code y (0: number of classes)


@dataclass
class DataConfig:
    """Which data set and how it is split."""

    dataset: str = "mnist"  # mnist | fashion-mnist | svhn | svhn+extra | tfd | path/to/file.npz or .npy
    validation: int = 10000  # training images held out for validation (tfd: its fold decides)
    fold: int = 0  # tfd: which of the 5 official folds (0-4)
    n_labeled: int = -1  # labels kept for label-informed training (-1: all), class-balanced by seed
    # the seed that draws those labels (-1: the run's seed): fix it to vary the initialisation and
    # the data order over seeds with the same labeled examples
    label_seed: int = -1
    # per-pixel (x - mean) / std with the training split's statistics (saved with the weights);
    # needs network.output="linear"; samples, reconstructions and figures are mapped back to [0, 1]
    standardize: bool = False
    # a .npy/.npz file's rows: "shuffled" once by a fixed seed, then 80/10/10 (the same rows for
    # every run and seed); "file-order": the last tenth of the file is the test split
    split: str = "shuffled"

    def labels_drawn_by(self, seed: int) -> int:
        """The seed that picks the kept labels of a run trained with ``seed``."""
        return seed if self.label_seed < 0 else self.label_seed


class FamilyTable:
    """Base of a model family's table: a dataclass in ``aae/models/<family>/config.py`` that holds
    the settings only that family's models read (``cfg.<family>``, ``[<family>]`` in a file), their
    defaults, and :meth:`rules`, the allowed values. ``aae.models`` registers it in
    :data:`FAMILY_TABLES` when it finds the family."""

    def rules(self, cfg: Config) -> list[tuple[str, Any, Rule]]:
        """(key within the table, value, rule) for each setting; ``cfg`` is the whole config, for the
        rules that read a key of another table. Default: none."""
        return []


#: family name -> the dataclass of its table (``cfg.<name>``), for the families that have settings;
#: filled by ``aae.models`` (the package ``aae`` imports it, so it is full once ``aae`` is imported)
FAMILY_TABLES: dict[str, type[FamilyTable]] = {}


@dataclass
class Config:
    """Everything that defines a training run.

    The settings every run has are fields; the settings of one model family each are its table, in
    ``families`` and read as attributes: ``cfg.wae`` is ``cfg.families["wae"]``. Every registered
    family's table is there (at its defaults where not given), whichever model the run trains.
    """

    name: str = "custom"  # the preset's name, or yours: run directories are named after it
    model: str = "aae"  # a name of aae.models.MODELS: the models of the families under aae/models/
    data: DataConfig = field(default_factory=DataConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    prior: dict[str, Any] = field(default_factory=lambda: {"name": "gaussian", "std": 1.0})
    recon_loss: str = "mse"  # mse (squared L2) | l1 | bce
    optim: dict[str, OptimConfig] = field(default_factory=default_optimizers)  # one optimizer per phase
    labeled_batch_size: int = 0  # mini-batch of labeled examples for a classification phase (0: batch_size)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    epochs: int = 20  # passes over the training split
    batch_size: int = 100  # mini-batch of (unlabeled) training examples per step
    seed: int = 0  # weight initialisation, data order, noise, and the labels kept (see data.label_seed)
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    # auto: bf16 where the hardware runs it fast and the model family trains as well in it
    # (Capabilities.bf16_parity), float32 elsewhere | float32 | bf16 (autocast forward, float32 weights)
    precision: str = "auto"
    threads: int = 0  # CPU threads for torch (0: leave torch's choice)
    checkpoint_every: int = 0  # also write the training state every N steps (0: at epoch ends only)
    checkpoint_minutes: float = 5.0  # also write the training state every so many minutes of training (0: off)
    on_nan: str = "stop"  # stop | rollback (reload the last checkpoint, halve every learning rate)
    ema: float = 0.0  # > 0: also evaluate an exponential moving average of the weights with this decay per step
    # the model families' tables by family name, in FAMILY_TABLES' order (saved as top-level tables)
    families: dict[str, FamilyTable] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.families) - set(FAMILY_TABLES))
        if unknown:
            raise AAEError(f"unknown model family table(s) {unknown}; known: {sorted(FAMILY_TABLES)}")
        self.families = {f: self.families[f] if f in self.families else t() for f, t in FAMILY_TABLES.items()}

    def __getattr__(self, name: str) -> Any:
        # called only when no field has the name: cfg.wae is the wae family's table
        families = self.__dict__.get("families", {})
        if name in families:
            return families[name]
        raise AttributeError(f"'Config' object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name in FAMILY_TABLES:  # cfg.wae = WAEConfig(...) replaces the table
            self.families[name] = value
        else:
            super().__setattr__(name, value)

    def to_dict(self) -> dict[str, Any]:
        """Plain data, the families' tables at the top level (``{"wae": {...}, ...}``) as in a file."""
        d = dataclasses.asdict(self)
        d.update(d.pop("families"))
        return d

    def validate(self) -> Config:
        """Check every value (ranges and choices: the shared rules of ``checks`` and each family
        table's own) and the settings that do not go together; raise :class:`AAEError` naming the
        first bad one.

        What needs the model registry, the prior or the data (a model name, prior parameters,
        sizes against the number of classes) is checked by ``aae.models.check_config`` and
        when the model is built, still before a run writes anything.
        """
        for key, value, rule in rules(self):
            problem = rule(value)
            if problem:
                raise AAEError(f"config key {key!r}: {value!r} {problem}")
        problem = conflict(self)
        if problem:
            raise AAEError(problem)
        return self
