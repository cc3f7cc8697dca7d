"""The config dataclasses: :class:`Config` and its tables."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from aae.config.checks import rules
from aae.errors import AAEError


@dataclass
class OptimConfig:
    """One phase's optimizer: ``sgd`` (with momentum) or ``adam``."""

    name: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.9
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    weight_decay: float = 0.0
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

    kind: str = "constant"
    milestones: list[int] = field(default_factory=list)
    gamma: float = 0.1
    warmup_steps: int = 0


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
class SupervisedConfig:
    """Model ``supervised`` (style and content, paper §4)."""

    # the style discriminator also sees each example's one-hot label, so the style's prior is
    # matched within every class (q(z|y) = p(z)) and z cannot carry the class: the decoder has to
    # take it from the label (off: the paper's model, which matches only q(z) as a whole)
    label_discriminator: bool = False


@dataclass
class SemiSupervisedConfig:
    """Models ``semisupervised`` and ``dimred``: what the classification phase does besides the
    paper's cross-entropy on labeled examples (all off by default: the paper's model)."""

    labeled_bn_stats: bool = True  # the labeled mini-batch updates batch norm's running statistics
    labeled_recon: float = 0.0  # weight of reconstructing labeled images from their true one-hot label
    vat_weight: float = 0.0  # weight of virtual adversarial training on the unlabeled mini-batch
    vat_eps: float = 2.0  # L2 norm of the adversarial perturbation, in data units
    # finite-difference step of VAT's power iteration, L2 norm in data units; 1e-6 (the VAT paper's,
    # on zero-mean data) is mostly rounded away in float32 on pixels in [0, 1]
    vat_xi: float = 1e-3
    entmin_weight: float = 0.0  # weight of the entropy of q(y|x) on the unlabeled mini-batch
    # the labeled cross-entropy's target puts this much probability evenly on every class (Szegedy
    # et al. 2016), so no labeled image, however atypical, is learned with full confidence
    label_smoothing: float = 0.0
    # mixup (Zhang et al. 2018) on the labeled batch: α of the Beta(α, α) weight that mixes each
    # labeled image, and its one-hot target, with another of the batch (0: off; 1: a uniform weight)
    labeled_mixup: float = 0.0
    # m softmax units per class (y has K = m × classes categories, class c owns units c·m .. c·m + m − 1;
    # q(class|x) is the sum over its units): a class can hold several modes of its own, so two
    # similar classes need not share one unit's prior mass
    categories_per_class: int = 1
    # weight of the mean-teacher consistency (Tarvainen & Valpola 2017): the squared distance
    # between q(y|x) and the weight average's (``ema``, needed) on the unlabeled mini-batch
    teacher_weight: float = 0.0
    # epochs over which that weight rises from exp(−5) of itself to all of it, as exp(−5 (1 − t)²)
    # (Tarvainen & Valpola's ramp-up): the early weight average is no teacher yet (0: constant)
    teacher_rampup: float = 0.0


@dataclass
class ClusteringConfig:
    """Models with a categorical code y (clustering above all): batch-level terms added to the
    encoder's adversarial cost, against clusters falling out of use (all off by default)."""

    balance_weight: float = 0.0  # × (log K − entropy of the batch-mean q(y|x)): keeps every cluster in use
    sharpness_weight: float = 0.0  # × mean entropy of q(y|x): confident assignments
    # × KL(q(y|x) || q(y|x + r_adv)), virtual adversarial training (IMSAT's smoothness): a sample
    # and its small perturbations belong to the same cluster
    vat_weight: float = 0.0
    vat_eps: float = 1.0  # L2 norm of the adversarial perturbation, in data units
    # 0: vat_eps is the norm; k > 0: each example's norm is vat_eps × its distance to its k-th nearest
    # training example (IMSAT: k = 10, vat_eps = 0.25), so dense regions get small perturbations
    vat_neighbour: int = 0
    # finite-difference step of the power iteration, L2 norm in data units: where it starts from x.
    # IMSAT's reference uses 10 on pixels in [-1, 1] (5 in [0, 1] units), far from x, so that the
    # direction found is that of the largest change at the scale of the perturbation itself
    vat_xi: float = 1e-3


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
    # | classifier | imsat (the components alone: q(y|x) with no decoder or prior)
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
    # auto: bf16 where the hardware runs it fast and the model family trains as well in it
    # (Capabilities.bf16_parity), float32 elsewhere | float32 | bf16 (autocast forward, float32 weights)
    precision: str = "auto"
    threads: int = 0  # CPU threads for torch (0: leave torch's choice)
    checkpoint_every: int = 0  # also write the training state every N steps (0: at epoch ends only)
    checkpoint_minutes: float = 5.0  # also write the training state every so many minutes of training (0: off)
    on_nan: str = "stop"  # stop | rollback (reload the last checkpoint, halve every learning rate)
    ema: float = 0.0  # > 0: also evaluate an exponential moving average of the weights with this decay per step
    # settings of one model family each
    aae: AAEConfig = field(default_factory=AAEConfig)
    wae: WAEConfig = field(default_factory=WAEConfig)
    vae: VAEConfig = field(default_factory=VAEConfig)
    supervised: SupervisedConfig = field(default_factory=SupervisedConfig)
    semisupervised: SemiSupervisedConfig = field(default_factory=SemiSupervisedConfig)
    clustering: ClusteringConfig = field(default_factory=ClusteringConfig)
    dimred: DimredConfig = field(default_factory=DimredConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def validate(self) -> Config:
        """Check every value (ranges and choices); raise :class:`AAEError` naming the first bad one.

        What needs the model registry, the prior or the data (a model name, prior parameters,
        sizes against the number of classes) is checked by ``aae.models.check_config`` and
        when the model is built, still before a run writes anything.
        """
        for key, value, rule in rules(self):
            problem = rule(value)
            if problem:
                raise AAEError(f"config key {key!r}: {value!r} {problem}")
        return self
