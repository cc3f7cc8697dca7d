"""scikit-learn estimators for people who bring their own ``(n_samples, n_features)`` arrays.

- :class:`AdversarialAutoencoder`: a transformer; ``transform`` gives codes whose
  distribution matches a prior you choose, ``inverse_transform`` decodes, ``sample`` draws
  new data (paper §2).
- :class:`SemiSupervisedAAEClassifier`: semi-supervised classification, ``y == -1`` marks
  unlabeled samples as in ``sklearn.semi_supervised`` (paper §5).
- :class:`AAEClustering`: unsupervised clustering through a categorical code (paper §6).
- :class:`AAEEmbedding`: a 2-D / 3-D embedding for visualisation with learned cluster
  heads, representation ``W_C·y + z`` (paper §7).

Each builds a :class:`aae.config.Config`, calls :func:`aae.models.build_model` and trains
with :class:`aae.training.Trainer` on tensors: no run directories, no files. Inputs go
through scikit-learn's validation; scale them yourself: features in [0, 1] for the default
``output="sigmoid"`` decoder (e.g. ``MinMaxScaler``, or pixels / 255), or standardized
features (``StandardScaler``) with ``output="linear"``.

Fitted estimators pickle (the torch modules move to the CPU); unpickle only files you trust,
since loading a pickle runs code.
"""

from __future__ import annotations

import copy
import numbers
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

try:
    import sklearn  # noqa: F401  (the real scikit-learn: imports here are absolute)
except ImportError as e:  # pragma: no cover
    raise ImportError("aae.sklearn needs scikit-learn: pip install 'aae[sklearn]'") from e
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
)
from sklearn.cluster import KMeans
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, validate_data
from torch import nn

from aae.config import Config, NetworkConfig, OptimConfig
from aae.errors import AAEError
from aae.models import build_model
from aae.networks import ENCODER_KINDS
from aae.priors import Prior
from aae.training import NumericalFault, Trainer, resolve_device

__all__ = [
    "AdversarialAutoencoder",
    "SemiSupervisedAAEClassifier",
    "AAEClustering",
    "AAEEmbedding",
    "consensus_votes",
    "consensus_membership",
]

_FLOATS = (np.float64, np.float32)
_INFER_BATCH = 4096

# ----------------------------------------------------------------------------- helpers


@contextmanager
def _user_errors() -> Iterator[None]:
    """Re-raise the library's :class:`AAEError` as the ``ValueError`` scikit-learn users expect."""
    try:
        yield
    except NumericalFault as e:
        raise ValueError(f"training diverged: {e}. Lower the learning rates or check the input scale") from e
    except AAEError as e:
        raise ValueError(str(e)) from e


def _check_int(name: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value!r}")


def _check_positive(name: str, value: Any, allow_zero: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")


def _check_choice(name: str, value: Any, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")


def _check_sizes(name: str, value: Any) -> list[int]:
    """Layer sizes: an int or a non-empty sequence of positive ints."""
    sizes = [value] if isinstance(value, numbers.Integral) and not isinstance(value, bool) else value
    try:
        sizes = list(sizes)
    except TypeError:
        raise TypeError(f"{name} must be a sequence of positive integers, got {value!r}") from None
    if not sizes:
        raise ValueError(f"{name} must hold at least one layer size")
    for s in sizes:
        _check_int(f"every entry of {name}", s, 1)
    return [int(s) for s in sizes]


def _warn_scale(X: np.ndarray, output: str) -> None:
    """A sigmoid decoder can only produce [0, 1]: say so when ``X`` leaves that range."""
    if output == "sigmoid" and X.size and (X.min() < -1e-6 or X.max() > 1 + 1e-6):  # rounding of scalers
        warnings.warn(
            f"X holds values in [{X.min():.3g}, {X.max():.3g}] but output='sigmoid' decodes to [0, 1]; "
            "scale X to [0, 1] (e.g. MinMaxScaler) or standardize it and use output='linear'",
            UserWarning,
            stacklevel=3,
        )


def _seed(random_state: Any) -> int:
    """An int seed for the library's generators from a scikit-learn ``random_state``."""
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def _deterministic_codes(encoder: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Codes without sampling: a Gaussian encoder's mean, the universal encoder at noise η = 0."""
    if getattr(encoder, "noise_dim", 0):
        return encoder.net(torch.cat([x, x.new_zeros(len(x), encoder.noise_dim)], 1))
    return encoder(x, sample=False)


class _AAEMixin:
    """Configuration, training and batched inference shared by the estimators below."""

    def _validate_common(self) -> None:
        _check_sizes("hidden_layer_sizes", self.hidden_layer_sizes)
        if self.discriminator_hidden_layer_sizes is not None:
            _check_sizes("discriminator_hidden_layer_sizes", self.discriminator_hidden_layer_sizes)
        _check_int("max_epochs", self.max_epochs, 1)
        _check_int("batch_size", self.batch_size, 1)
        _check_positive("learning_rate", self.learning_rate)
        _check_positive("discriminator_learning_rate", self.discriminator_learning_rate)
        _check_positive("generator_learning_rate", self.generator_learning_rate)
        _check_choice("output", self.output, ("sigmoid", "linear"))
        _check_choice("precision", self.precision, ("float32", "bf16"))
        if not (isinstance(self.prior, (str, Prior)) or callable(self.prior)):
            raise TypeError(f"prior must be a name, a callable f(n, generator) or an aae Prior, not {self.prior!r}")
        if self.prior_params is not None and not isinstance(self.prior_params, dict):
            raise TypeError(f"prior_params must be a dict or None, got {self.prior_params!r}")

    def _config(self, model: str, code_dim: int, n_samples: int, **network: Any) -> Config:
        hidden = _check_sizes("hidden_layer_sizes", self.hidden_layer_sizes)
        disc = self.discriminator_hidden_layer_sizes
        adam = {"name": "adam", "betas": [0.5, 0.999]}
        return Config(
            name=type(self).__name__,
            model=model,
            network=NetworkConfig(
                code_dim=code_dim,
                hidden=hidden,
                disc_hidden=hidden if disc is None else _check_sizes("discriminator_hidden_layer_sizes", disc),
                output=self.output,
                **network,
            ),
            prior={"name": self.prior, **(self.prior_params or {})},
            recon=OptimConfig("adam", float(self.learning_rate)),
            disc=OptimConfig(lr=float(self.discriminator_learning_rate), **adam),
            gen=OptimConfig(lr=float(self.generator_learning_rate), **adam),
            classify=OptimConfig("adam", float(self.learning_rate)),
            epochs=int(self.max_epochs),
            batch_size=min(int(self.batch_size), n_samples),
            seed=_seed(self.random_state),
            device=self.device,
            precision=self.precision,
        )

    def _train(self, cfg: Config, X: np.ndarray, y: np.ndarray, n_classes: int) -> nn.Module:
        """Build ``cfg``'s model (weights drawn from ``cfg.seed``) and train it on ``X`` ``(n, d)``, ``y`` ``(n,)``.

        Sets ``history_`` (one dict of mean losses per epoch); returns the model in eval mode.
        Torch's global random state is left as it was.
        """
        with _user_errors():
            dev = resolve_device(cfg.device)
            fork = [dev.index or 0] if dev.type == "cuda" else []
            with torch.random.fork_rng(devices=fork):
                torch.manual_seed(cfg.seed)
                model = build_model(cfg, X.shape[1], n_classes).to(dev)
                x = torch.tensor(X, dtype=torch.float32, device=dev)
                trainer = Trainer(model, cfg, x, torch.as_tensor(y, dtype=torch.long, device=dev))
                trainer.fit(cfg.epochs, on_epoch_end=self._report if self.verbose else None)
        self.history_ = trainer.history
        return model.eval()

    def _report(self, metrics: dict) -> None:
        losses = " ".join(f"{k}={v:.4g}" for k, v in metrics.items() if k.endswith(("_loss", "_acc")))
        print(f"{type(self).__name__} epoch {metrics['epoch']}/{self.max_epochs}: {losses} ({metrics['seconds']:.1f}s)")

    @torch.no_grad()
    def _infer(
        self, fn: Callable[[nn.Module, torch.Tensor], torch.Tensor], X: np.ndarray, model: nn.Module | None = None
    ) -> np.ndarray:
        """``fn(model, x)`` on batches of rows of ``X``; the concatenated results as float64 numpy.

        ``model`` defaults to ``model_``. Inference runs on a float64 copy of the model: float32
        results can differ in the last bit with the batch size (different kernels), and a
        sample's output should not.
        """
        model = copy.deepcopy(self.model_ if model is None else model).double()
        dev = next(model.parameters()).device
        out = [
            fn(model, torch.tensor(X[i : i + _INFER_BATCH], dtype=torch.float64, device=dev)).cpu().numpy()
            for i in range(0, len(X), _INFER_BATCH)
        ]
        return np.concatenate(out) if out else np.zeros((0, 0))

    def __getstate__(self) -> dict:
        # torch modules travel on the CPU, so a model trained on a GPU unpickles anywhere
        state = super().__getstate__()
        model = state.get("model_")
        if model is not None and next(model.parameters()).device.type != "cpu":
            state["model_"] = copy.deepcopy(model).cpu()
        return state


# ----------------------------------------------------------------------------- transformer


class AdversarialAutoencoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, _AAEMixin, BaseEstimator):
    """Adversarial autoencoder (paper §2) as a scikit-learn transformer.

    An encoder maps each sample to a code of ``n_components`` values, a decoder maps codes
    back, and a discriminator makes the distribution of the codes match ``prior``.

    Parameters
    ----------
    n_components : int, default=2
        Size of the code.
    prior : str, callable or aae.priors.Prior, default="gaussian"
        ``"gaussian"``, ``"uniform"``, ``"mixture"`` / ``"swissroll"`` (2-D codes only), any
        callable ``f(n, generator) -> (n, n_components)`` array or tensor (a top-level function,
        so that the estimator pickles), or a :class:`aae.priors.Prior` instance.
    prior_params : dict or None, default=None
        Parameters of a named prior, e.g. ``{"std": 5.0}`` or ``{"n_components": 10}``.
    hidden_layer_sizes : tuple of int, default=(256, 256)
        Hidden ReLU layers of the encoder; the decoder mirrors them.
    discriminator_hidden_layer_sizes : tuple of int or None, default=None
        Hidden layers of the discriminator (None: ``hidden_layer_sizes``).
    encoder : {"deterministic", "gaussian", "universal"}, default="deterministic"
        The encoder kinds of paper §2. ``transform`` never samples: it returns the mean of a
        Gaussian encoder and the universal encoder's code at noise 0.
    noise_dim : int or None, default=None
        Noise inputs of the universal encoder (None: ``n_components``).
    output : {"sigmoid", "linear"}, default="sigmoid"
        Decoder output: ``"sigmoid"`` for features in [0, 1] (a warning says when X leaves that
        range), ``"linear"`` for standardized features.
    max_epochs : int, default=100
        Passes over the training data.
    batch_size : int, default=100
        Mini-batch size (at most the number of samples).
    learning_rate : float, default=1e-3
        Adam learning rate of the reconstruction phase.
    discriminator_learning_rate : float, default=5e-5
        Adam learning rate (betas 0.5, 0.999) of the discriminator.
    generator_learning_rate : float, default=3e-4
        Adam learning rate (betas 0.5, 0.999) of the encoder as generator. Faster than the
        discriminator: the encoder also has to keep reconstructing.
    precision : {"float32", "bf16"}, default="float32"
        bf16 autocasts the forward passes (float32 weights).
    device : str, default="cpu"
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``. Training is reproducible on the CPU.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the data order and every noise draw.
    verbose : bool, default=False
        Print the mean losses after every epoch.

    Attributes
    ----------
    model_ : torch.nn.Module
        The trained :class:`aae.models.AdversarialAutoencoder`.
    config_ : aae.config.Config
        The configuration it was built and trained with.
    history_ : list of dict
        Mean losses of every epoch.
    n_features_in_ : int
        Number of features seen in ``fit``.
    """

    def __init__(
        self,
        n_components: int = 2,
        *,
        prior: str | Callable = "gaussian",
        prior_params: dict | None = None,
        hidden_layer_sizes: Sequence[int] = (256, 256),
        discriminator_hidden_layer_sizes: Sequence[int] | None = None,
        encoder: str = "deterministic",
        noise_dim: int | None = None,
        output: str = "sigmoid",
        max_epochs: int = 100,
        batch_size: int = 100,
        learning_rate: float = 1e-3,
        discriminator_learning_rate: float = 5e-5,
        generator_learning_rate: float = 3e-4,
        precision: str = "float32",
        device: str = "cpu",
        random_state: Any = None,
        verbose: bool = False,
    ):
        self.n_components = n_components
        self.prior = prior
        self.prior_params = prior_params
        self.hidden_layer_sizes = hidden_layer_sizes
        self.discriminator_hidden_layer_sizes = discriminator_hidden_layer_sizes
        self.encoder = encoder
        self.noise_dim = noise_dim
        self.output = output
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.discriminator_learning_rate = discriminator_learning_rate
        self.generator_learning_rate = generator_learning_rate
        self.precision = precision
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X: Any, y: Any = None) -> AdversarialAutoencoder:
        """Train on ``X`` ``(n_samples, n_features)``; ``y`` is ignored. Returns ``self``."""
        _check_int("n_components", self.n_components, 1)
        _check_choice("encoder", self.encoder, ENCODER_KINDS)
        if self.noise_dim is not None:
            _check_int("noise_dim", self.noise_dim, 1)
        self._validate_common()
        X = validate_data(self, X, dtype=_FLOATS)
        _warn_scale(X, self.output)
        noise = (self.noise_dim or self.n_components) if self.encoder == "universal" else 0
        cfg = self._config("aae", int(self.n_components), len(X), encoder=self.encoder, noise_dim=noise)
        self.model_ = self._train(cfg, X, np.full(len(X), -1), 0)
        self.config_ = cfg
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Codes ``(n_samples, n_components)`` of ``X``, in its float dtype."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=_FLOATS, reset=False)
        return self._infer(lambda m, x: _deterministic_codes(m.encoder, x), X).astype(X.dtype, copy=False)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Decoded data ``(n_samples, n_features_in_)`` of codes ``X`` ``(n_samples, n_components)``."""
        check_is_fitted(self)
        Z = check_array(X, dtype=_FLOATS)
        if Z.shape[1] != self.n_components:
            raise ValueError(f"X has {Z.shape[1]} features, but inverse_transform expects {self.n_components} (codes)")
        return self._infer(lambda m, z: m.decoder(z), Z).astype(Z.dtype, copy=False)

    def sample(self, n_samples: int = 1, random_state: Any = None) -> np.ndarray:
        """Decode ``n_samples`` draws from the prior: ``(n_samples, n_features_in_)`` float64."""
        check_is_fitted(self)
        _check_int("n_samples", n_samples, 1)
        gen = torch.Generator().manual_seed(_seed(random_state))
        with torch.no_grad():
            z = self.model_.prior.sample(n_samples, gen).to(next(self.model_.parameters()).device)
            return self.model_.decoder(z).float().cpu().numpy().astype(np.float64)

    def score(self, X: Any, y: Any = None) -> float:
        """Minus the mean squared reconstruction error per feature (higher is better)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=_FLOATS, reset=False)
        rec = self._infer(lambda m, x: m.decoder(_deterministic_codes(m.encoder, x)), X)
        return -float(np.mean((rec - X) ** 2))

    @property
    def _n_features_out(self) -> int:
        return self.n_components

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


# ----------------------------------------------------------------------------- categorical models


def _encode_targets(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(classes, codes)``: sorted labels of the labeled samples and each sample's index in them.

    ``-1`` (numeric labels only) marks an unlabeled sample and stays -1.
    """
    check_classification_targets(y)
    if y.dtype.kind in "iuf":
        unlabeled = y == -1
    elif y.dtype.kind == "O":
        unlabeled = np.array([v == -1 for v in y], dtype=bool)
    else:
        unlabeled = np.zeros(len(y), dtype=bool)
    classes = np.unique(y[~unlabeled])
    if len(classes) < 2:
        raise ValueError(
            f"a classifier needs labeled samples of at least 2 classes; got {len(classes)} class"
            f"{'' if len(classes) == 1 else 'es'} ({int(unlabeled.sum())} unlabeled samples, marked -1)"
        )
    codes = np.full(len(y), -1, dtype=np.int64)
    codes[~unlabeled] = np.searchsorted(classes, y[~unlabeled])
    return classes, codes


class _CategoricalMixin(_AAEMixin):
    """Parameters and inference shared by the estimators with a categorical code y."""

    def _validate_categorical(self) -> None:
        _check_positive("dropout", self.dropout, allow_zero=True)
        if self.dropout >= 1:
            raise ValueError(f"dropout must be < 1, got {self.dropout!r}")
        _check_positive("input_noise", self.input_noise, allow_zero=True)
        self._validate_common()

    def _categorical_config(self, model: str, n_samples: int, style_dim: int, n_clusters: int = 0) -> Config:
        cfg = self._config(
            model,
            style_dim,
            n_samples,
            dropout=float(self.dropout),
            input_noise=float(self.input_noise),
            n_clusters=n_clusters,
        )
        cfg.labeled_batch_size = cfg.batch_size
        return cfg

    def _memberships(self, X: np.ndarray, model: nn.Module | None = None) -> np.ndarray:
        """q(y|x) of ``model`` (default ``model_``) for validated rows ``X``: ``(n_samples, n_classes)``."""
        return self._infer(lambda m, x: m.predict_proba(x), X, model)

    def _proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, dtype=_FLOATS, reset=False)
        return self._memberships(X)


class SemiSupervisedAAEClassifier(ClassifierMixin, _CategoricalMixin, BaseEstimator):
    """Semi-supervised classifier (paper §5): an AAE whose code is a class y and a style z.

    Every mini-batch trains reconstruction from [softmax(y), z], two discriminators (y against
    a uniform categorical distribution, z against ``prior``), and, on a mini-batch of the
    labeled samples, the cross-entropy of q(y|x). Samples with ``y == -1`` are unlabeled and
    used by the first three phases only, as in ``sklearn.semi_supervised``.

    Parameters
    ----------
    style_dim : int, default=8
        Size of the continuous style code z, matched to ``prior``.
    prior : str, callable or aae.priors.Prior, default="gaussian"
        Prior of the style code (as in :class:`AdversarialAutoencoder`).
    prior_params : dict or None, default=None
        Parameters of a named prior.
    hidden_layer_sizes : tuple of int, default=(256, 256)
        Hidden ReLU layers of the encoder (shared by the y and z heads); the decoder mirrors them.
    discriminator_hidden_layer_sizes : tuple of int or None, default=None
        Hidden layers of both discriminators (None: ``hidden_layer_sizes``).
    output : {"sigmoid", "linear"}, default="sigmoid"
        Decoder output: ``"sigmoid"`` for features in [0, 1], ``"linear"`` for standardized features.
    dropout : float, default=0.0
        Dropout after every hidden layer of the encoder while training.
    input_noise : float, default=0.0
        Standard deviation of Gaussian noise added to the encoder's input while training.
    max_epochs : int, default=100
        Passes over the training data.
    batch_size : int, default=100
        Mini-batch size (at most the number of samples).
    learning_rate : float, default=1e-3
        Adam learning rate of the reconstruction phase and of the classification phase.
    discriminator_learning_rate : float, default=5e-5
        Adam learning rate (betas 0.5, 0.999) of the discriminators.
    generator_learning_rate : float, default=3e-4
        Adam learning rate (betas 0.5, 0.999) of the encoder as generator. Faster than the
        discriminators: the encoder also has to keep reconstructing.
    precision : {"float32", "bf16"}, default="float32"
        bf16 autocasts the forward passes (float32 weights).
    device : str, default="cpu"
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``. Training is reproducible on the CPU.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the data order and every noise draw.
    verbose : bool, default=False
        Print the mean losses after every epoch.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels seen in ``fit`` (other than -1), sorted.
    model_ : torch.nn.Module
        The trained :class:`aae.semisupervised.SemiSupervisedAAE`.
    config_ : aae.config.Config
        The configuration it was built and trained with.
    history_ : list of dict
        Mean losses of every epoch.
    n_features_in_ : int
        Number of features seen in ``fit``.
    """

    def __init__(
        self,
        style_dim: int = 8,
        *,
        prior: str | Callable = "gaussian",
        prior_params: dict | None = None,
        hidden_layer_sizes: Sequence[int] = (256, 256),
        discriminator_hidden_layer_sizes: Sequence[int] | None = None,
        output: str = "sigmoid",
        dropout: float = 0.0,
        input_noise: float = 0.0,
        max_epochs: int = 100,
        batch_size: int = 100,
        learning_rate: float = 1e-3,
        discriminator_learning_rate: float = 5e-5,
        generator_learning_rate: float = 3e-4,
        precision: str = "float32",
        device: str = "cpu",
        random_state: Any = None,
        verbose: bool = False,
    ):
        self.style_dim = style_dim
        self.prior = prior
        self.prior_params = prior_params
        self.hidden_layer_sizes = hidden_layer_sizes
        self.discriminator_hidden_layer_sizes = discriminator_hidden_layer_sizes
        self.output = output
        self.dropout = dropout
        self.input_noise = input_noise
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.discriminator_learning_rate = discriminator_learning_rate
        self.generator_learning_rate = generator_learning_rate
        self.precision = precision
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X: Any, y: Any) -> SemiSupervisedAAEClassifier:
        """Train on ``X`` ``(n_samples, n_features)`` and labels ``y`` ``(n_samples,)`` (-1: unlabeled)."""
        _check_int("style_dim", self.style_dim, 1)
        self._validate_categorical()
        X, y = validate_data(self, X, y, dtype=_FLOATS)
        self.classes_, codes = _encode_targets(y)
        _warn_scale(X, self.output)
        cfg = self._categorical_config("semisupervised", len(X), int(self.style_dim))
        self.model_ = self._train(cfg, X, codes, len(self.classes_))
        self.config_ = cfg
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """q(y|x): ``(n_samples, n_classes)`` probabilities, columns in the order of ``classes_``."""
        return self._proba(X)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each sample ``(n_samples,)``, with the labels of ``y``."""
        index = self.predict_proba(X).argmax(1)
        return self.classes_[index]


class AAEClustering(ClusterMixin, _CategoricalMixin, BaseEstimator):
    """Unsupervised clustering (paper §6): an AAE whose code is a cluster y and a style z.

    The same network as :class:`SemiSupervisedAAEClassifier` without labels: a discriminator
    makes the softmax y look like one-hot vectors drawn uniformly from ``n_clusters``, another
    matches z to ``prior``; a sample's cluster is ``argmax q(y|x)``. Clusters are balanced by
    construction (the categorical prior is uniform), and a cluster may stay empty.

    Parameters
    ----------
    n_clusters : int, default=10
        Number of clusters (softmax units of y).
    style_dim : int, default=8
        Size of the continuous style code z, matched to ``prior``.
    prior : str, callable or aae.priors.Prior, default="gaussian"
        Prior of the style code (as in :class:`AdversarialAutoencoder`).
    prior_params : dict or None, default=None
        Parameters of a named prior.
    hidden_layer_sizes : tuple of int, default=(256, 256)
        Hidden ReLU layers of the encoder (shared by the y and z heads); the decoder mirrors them.
    discriminator_hidden_layer_sizes : tuple of int or None, default=None
        Hidden layers of both discriminators (None: ``hidden_layer_sizes``).
    output : {"sigmoid", "linear"}, default="sigmoid"
        Decoder output: ``"sigmoid"`` for features in [0, 1], ``"linear"`` for standardized features.
    dropout : float, default=0.0
        Dropout after every hidden layer of the encoder while training.
    input_noise : float, default=0.0
        Standard deviation of Gaussian noise added to the encoder's input while training.
    max_epochs : int, default=100
        Passes over the training data.
    batch_size : int, default=100
        Mini-batch size (at most the number of samples).
    learning_rate : float, default=1e-3
        Adam learning rate of the reconstruction phase.
    discriminator_learning_rate : float, default=5e-5
        Adam learning rate (betas 0.5, 0.999) of the discriminators.
    generator_learning_rate : float, default=3e-4
        Adam learning rate (betas 0.5, 0.999) of the encoder as generator. Faster than the
        discriminators: the encoder also has to keep reconstructing.
    n_init : int, default=1
        Number of trainings from different initialisations (as k-means' ``n_init``), combined
        as ``combine`` says. Single trainings vary a lot from seed to seed (on digits the
        adjusted Rand index of one training ranges over 0.44-0.73); 5 or more with the consensus
        is what the documented results use.
    combine : {"consensus", "most_confident"}, default="consensus"
        How ``n_init`` > 1 trainings become one clustering. ``"consensus"`` (a cluster
        ensemble): k-means (``n_clusters``) on the concatenated memberships q(y|x) of all
        trainings gives consensus clusters; each training then votes through its table of
        P(consensus cluster | its own cluster), and a sample's membership is the mean vote.
        ``"most_confident"``: keep the training with the highest mean max q(y|x) on the
        training data (y codes nearest the one-hot prior).
    precision : {"float32", "bf16"}, default="float32"
        bf16 autocasts the forward passes (float32 weights).
    device : str, default="cpu"
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``. Training is reproducible on the CPU.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the data order and every noise draw.
    verbose : bool, default=False
        Print the mean losses after every epoch.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of every training sample.
    confidence_ : float
        Mean max of ``predict_proba`` over the training samples.
    model_ : torch.nn.Module
        The trained :class:`aae.semisupervised.SemiSupervisedAAE` (with ``n_init`` > 1: the most
        confident training).
    models_ : list of torch.nn.Module
        Every training that takes part in ``predict_proba`` (one, unless combined by consensus).
    votes_ : list of ndarray of shape (n_clusters, n_clusters) or None
        For the consensus: row j of ``votes_[i]`` is P(consensus cluster | cluster j of
        ``models_[i]``) on the training data. None for a single training.
    config_ : aae.config.Config
        The configuration it was built and trained with.
    history_ : list of dict
        Mean losses of every epoch.
    n_features_in_ : int
        Number of features seen in ``fit``.
    """

    def __init__(
        self,
        n_clusters: int = 10,
        *,
        style_dim: int = 8,
        prior: str | Callable = "gaussian",
        prior_params: dict | None = None,
        hidden_layer_sizes: Sequence[int] = (256, 256),
        discriminator_hidden_layer_sizes: Sequence[int] | None = None,
        output: str = "sigmoid",
        dropout: float = 0.0,
        input_noise: float = 0.0,
        max_epochs: int = 100,
        batch_size: int = 100,
        learning_rate: float = 1e-3,
        discriminator_learning_rate: float = 5e-5,
        generator_learning_rate: float = 3e-4,
        n_init: int = 1,
        combine: str = "consensus",
        precision: str = "float32",
        device: str = "cpu",
        random_state: Any = None,
        verbose: bool = False,
    ):
        self.n_clusters = n_clusters
        self.style_dim = style_dim
        self.prior = prior
        self.prior_params = prior_params
        self.hidden_layer_sizes = hidden_layer_sizes
        self.discriminator_hidden_layer_sizes = discriminator_hidden_layer_sizes
        self.output = output
        self.dropout = dropout
        self.input_noise = input_noise
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.discriminator_learning_rate = discriminator_learning_rate
        self.generator_learning_rate = generator_learning_rate
        self.n_init = n_init
        self.combine = combine
        self.precision = precision
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X: Any, y: Any = None) -> AAEClustering:
        """Train on ``X`` ``(n_samples, n_features)``; ``y`` is ignored. Sets ``labels_``."""
        _check_int("n_clusters", self.n_clusters, 2)
        _check_int("style_dim", self.style_dim, 1)
        self._validate_categorical()
        X = validate_data(self, X, dtype=_FLOATS)
        _warn_scale(X, self.output)
        _check_int("n_init", self.n_init, 1)
        if self.combine not in COMBINE:
            raise ValueError(f"combine must be one of {list(COMBINE)}, got {self.combine!r}")
        cfg = self._categorical_config("clustering", len(X), int(self.style_dim), int(self.n_clusters))
        # the first training uses the estimator's seed (n_init=1 is the plain fit); the others
        # seeds drawn from it
        rng = np.random.RandomState(cfg.seed)
        seeds = [cfg.seed, *(int(rng.randint(np.iinfo(np.int32).max)) for _ in range(int(self.n_init) - 1))]
        fits = []
        for seed in seeds:
            cfg_i = copy.deepcopy(cfg)
            cfg_i.seed = seed
            model = self._train(cfg_i, X, np.full(len(X), -1), 0)
            proba = self._memberships(X, model)
            fits.append((float(proba.max(1).mean()), model, cfg_i, self.history_, proba))
        _, self.model_, self.config_, self.history_, proba = max(fits, key=lambda f: f[0])
        if self.combine == "consensus" and len(fits) > 1:
            probas = [f[4] for f in fits]
            self.models_ = [f[1] for f in fits]
            self.votes_ = consensus_votes(probas, int(self.n_clusters), cfg.seed)
            proba = consensus_membership(probas, self.votes_)
        else:
            self.models_, self.votes_ = [self.model_], None
        self.labels_ = proba.argmax(1)
        self.confidence_ = float(proba.max(1).mean())
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Cluster memberships ``(n_samples, n_clusters)``: q(y|x), or the consensus vote."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=_FLOATS, reset=False)
        probas = [self._memberships(X, model) for model in self.models_]
        return probas[0] if self.votes_ is None else consensus_membership(probas, self.votes_)

    def predict(self, X: Any) -> np.ndarray:
        """Cluster of each sample ``(n_samples,)`` in 0..n_clusters-1 (argmax of ``predict_proba``)."""
        return self.predict_proba(X).argmax(1)


COMBINE = ("consensus", "most_confident")


def consensus_votes(probas: Sequence[np.ndarray], n_clusters: int, seed: int) -> list[np.ndarray]:
    """Cluster-ensemble tables for several clusterings of the same samples.

    ``probas``: memberships ``(n_samples, k_i)`` from each clustering. k-means on their
    concatenation gives ``n_clusters`` consensus clusters; table ``i`` ``(k_i, n_clusters)``
    holds P(consensus cluster | cluster j of clustering i), counted with soft memberships.
    """
    consensus = KMeans(n_clusters, n_init=10, random_state=seed).fit_predict(np.concatenate(probas, 1))
    onehot = np.eye(n_clusters)[consensus]
    tables = []
    for p in probas:
        counts = p.T @ onehot
        tables.append(counts / np.maximum(counts.sum(1, keepdims=True), 1e-12))
    return tables


def consensus_membership(probas: Sequence[np.ndarray], votes: Sequence[np.ndarray]) -> np.ndarray:
    """Mean over clusterings of each sample's membership mapped through its clustering's table."""
    q = sum(p @ t for p, t in zip(probas, votes)) / len(probas)
    return q / np.maximum(q.sum(1, keepdims=True), 1e-12)


# ----------------------------------------------------------------------------- embedding (paper §7)


class AAEEmbedding(ClassNamePrefixFeaturesOutMixin, TransformerMixin, _CategoricalMixin, BaseEstimator):
    """A low-dimensional embedding for visualisation (paper §7, Fig. 11-12): ``W_C·y + z``.

    The encoder gives a cluster y (softmax over ``n_clusters``) and a code z of
    ``n_components`` values matched to ``prior``; each cluster has a learned head, a row of
    ``W_C`` ``(n_clusters, n_components)``, kept at least ``head_distance`` from every other
    head, and the embedding of a sample is its head (weighted by q(y|x)) plus its style z.
    The decoder reconstructs from that embedding, so the embedding both separates clusters
    and keeps the within-cluster variation. With labels (``fit(X, y)``, -1 for unlabeled
    samples) there is one head per class and q(y|x) is also trained on the labeled samples
    (the semi-supervised variant of §7); ``n_clusters`` is then not used.

    The model is the library's :class:`aae.semisupervised.DimensionalityReductionAAE` (models
    ``dimred`` and ``dimred-clustering`` of the CLI presets), trained by :class:`aae.training.Trainer`.

    Parameters
    ----------
    n_components : int, default=2
        Size of the embedding (2 or 3 for plots; any size >= 1 works).
    n_clusters : int, default=10
        Number of cluster heads when ``fit`` gets no labels.
    head_distance : float, default=6.0
        The threshold η > 0: heads closer than this are pushed apart (in units of the style
        prior's scale, 1 for the default Gaussian); the heads start about this far apart.
    prior : str, callable or aae.priors.Prior, default="gaussian"
        Prior of the style code z.
    prior_params : dict or None, default=None
        Parameters of a named prior.
    hidden_layer_sizes : tuple of int, default=(256, 256)
        Hidden ReLU layers of the encoder; the decoder mirrors them.
    discriminator_hidden_layer_sizes : tuple of int or None, default=None
        Hidden layers of both discriminators (None: ``hidden_layer_sizes``).
    output : {"sigmoid", "linear"}, default="sigmoid"
        Decoder output: ``"sigmoid"`` for features in [0, 1], ``"linear"`` for standardized features.
    dropout : float, default=0.0
        Dropout after every hidden layer of the encoder while training.
    input_noise : float, default=0.0
        Standard deviation of Gaussian noise added to the encoder's input while training.
    max_epochs : int, default=100
        Passes over the training data.
    batch_size : int, default=100
        Mini-batch size (at most the number of samples).
    learning_rate : float, default=1e-3
        Adam learning rate of the reconstruction phase (which also moves the heads) and of the
        classification phase.
    discriminator_learning_rate : float, default=5e-5
        Adam learning rate (betas 0.5, 0.999) of the discriminators.
    generator_learning_rate : float, default=3e-4
        Adam learning rate (betas 0.5, 0.999) of the encoder as generator. Faster than the
        discriminators: the encoder also has to keep reconstructing.
    precision : {"float32", "bf16"}, default="float32"
        bf16 autocasts the forward passes (float32 weights).
    device : str, default="cpu"
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``. Training is reproducible on the CPU.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the data order and every noise draw.
    verbose : bool, default=False
        Print the mean losses after every epoch.

    Attributes
    ----------
    cluster_heads_ : ndarray of shape (n_heads, n_components)
        The learned heads ``W_C``: one per cluster, or per class of ``classes_``.
    classes_ : ndarray of shape (n_classes,) or None
        The labels seen in ``fit`` (other than -1), or None when fitted without labels.
    model_ : torch.nn.Module
        The trained :class:`aae.semisupervised.DimensionalityReductionAAE`.
    config_ : aae.config.Config
        The configuration it was built and trained with.
    history_ : list of dict
        Mean losses of every epoch.
    n_features_in_ : int
        Number of features seen in ``fit``.
    """

    def __init__(
        self,
        n_components: int = 2,
        *,
        n_clusters: int = 10,
        head_distance: float = 6.0,
        prior: str | Callable = "gaussian",
        prior_params: dict | None = None,
        hidden_layer_sizes: Sequence[int] = (256, 256),
        discriminator_hidden_layer_sizes: Sequence[int] | None = None,
        output: str = "sigmoid",
        dropout: float = 0.0,
        input_noise: float = 0.0,
        max_epochs: int = 100,
        batch_size: int = 100,
        learning_rate: float = 1e-3,
        discriminator_learning_rate: float = 5e-5,
        generator_learning_rate: float = 3e-4,
        precision: str = "float32",
        device: str = "cpu",
        random_state: Any = None,
        verbose: bool = False,
    ):
        self.n_components = n_components
        self.n_clusters = n_clusters
        self.head_distance = head_distance
        self.prior = prior
        self.prior_params = prior_params
        self.hidden_layer_sizes = hidden_layer_sizes
        self.discriminator_hidden_layer_sizes = discriminator_hidden_layer_sizes
        self.output = output
        self.dropout = dropout
        self.input_noise = input_noise
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.discriminator_learning_rate = discriminator_learning_rate
        self.generator_learning_rate = generator_learning_rate
        self.precision = precision
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X: Any, y: Any = None) -> AAEEmbedding:
        """Train on ``X`` ``(n_samples, n_features)``, with labels ``y`` (-1: unlabeled) if given."""
        _check_int("n_components", self.n_components, 1)
        _check_int("n_clusters", self.n_clusters, 2)
        _check_positive("head_distance", self.head_distance)
        self._validate_categorical()
        if y is None:
            X = validate_data(self, X, dtype=_FLOATS)
            codes = np.full(len(X), -1)
        else:
            X, y = validate_data(self, X, y, dtype=_FLOATS)
            codes = np.asarray(y)
        self.classes_ = None
        if y is not None and not np.all(codes == -1):
            self.classes_, codes = _encode_targets(y)
        _warn_scale(X, self.output)
        n_classes = 0 if self.classes_ is None else len(self.classes_)
        # with labels: one head per class (semi-supervised, model "dimred"); else n_clusters heads
        model, k = ("dimred", 0) if n_classes else ("dimred-clustering", int(self.n_clusters))
        cfg = self._categorical_config(model, len(X), int(self.n_components), k)
        cfg.network.head_margin = float(self.head_distance)
        self.model_ = self._train(cfg, X, codes, n_classes)
        self.config_ = cfg
        self.cluster_heads_ = self.model_.cluster_heads.detach().float().cpu().numpy().astype(np.float64)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """The embedding ``softmax(y)·W_C + z``: ``(n_samples, n_components)``, in X's float dtype."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=_FLOATS, reset=False)
        return self._infer(lambda m, x: m.represent(x), X).astype(X.dtype, copy=False)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Decoded data ``(n_samples, n_features_in_)`` of embeddings ``X`` ``(n_samples, n_components)``."""
        check_is_fitted(self)
        Z = check_array(X, dtype=_FLOATS)
        if Z.shape[1] != self.n_components:
            raise ValueError(f"X has {Z.shape[1]} features, but inverse_transform expects {self.n_components}")
        return self._infer(lambda m, z: m.decoder(z), Z).astype(Z.dtype, copy=False)

    def predict_proba(self, X: Any) -> np.ndarray:
        """q(y|x): ``(n_samples, n_heads)``, over the clusters or the classes of ``classes_``."""
        return self._proba(X)

    @property
    def _n_features_out(self) -> int:
        return self.n_components

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
