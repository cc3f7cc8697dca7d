"""What the estimators of :mod:`aae.sklearn` share: their mixins.

- :class:`AAEMixin` declares the parameters every estimator has (see :mod:`aae.sklearn._params`).
  Its :meth:`~AAEMixin._config` is the only code that knows the layout of
  :class:`aae.config.Config`; :meth:`~AAEMixin._fit_model` builds and trains the model from it.
  Batched float64 inference, pickling (torch modules travel on the CPU).
- :class:`CategoricalMixin`: the parameters and the inference of the models with a categorical code y.
- :class:`CodeTransformerMixin`: ``transform`` / ``inverse_transform`` of the estimators whose output is a code.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted, validate_data
from torch import nn
from tqdm import tqdm

from aae.config import Config, NetworkConfig, OptimConfig
from aae.data import kth_neighbour_distance
from aae.hardware import resolve_device
from aae.models import build_model
from aae.models.clustering.config import ClusteringConfig
from aae.models.dimred.config import DimredConfig
from aae.models.semisupervised.config import SemiSupervisedConfig
from aae.priors import Prior
from aae.sklearn._checks import (
    FLOATS,
    at_least,
    check_dict,
    check_fraction,
    check_non_negative,
    check_positive,
    check_prior,
    check_sizes,
    check_verbose,
    one_of,
    optional,
    seed_from,
    user_errors,
    warn_scale,
)
from aae.sklearn._params import check_params, param, with_params
from aae.training import Trainer

_INFER_BATCH = 4096

#: the doc of ``style_dim``, a parameter of the classifier and the clustering
STYLE_DIM_DOC = "Size of the continuous style code z, matched to ``prior``."


# ----------------------------------------------------------------------------- the mixins


@with_params
class AAEMixin:
    """The parameters of every estimator; configuration, training and batched inference."""

    #: words of the parameter docs that differ between the estimators
    _doc_words = {
        "code": "the code",
        "code_size": "n_components",
        "encoder": "the encoder",
        "discriminators": "the discriminator",
        "lr_phases": "the reconstruction phase",
    }

    prior: str | Callable | Prior = param(
        default="gaussian",
        kind="str, callable or aae.priors.Prior",
        doc='Prior of $code: ``"gaussian"``, ``"uniform"``, ``"mixture"`` / ``"swissroll"`` (2-D codes only), any '
        "callable ``f(n, generator) -> (n, $code_size)`` array or tensor (a top-level function, so that the "
        "estimator pickles), or a :class:`aae.priors.Prior` instance.",
        check=check_prior,
    )
    prior_params: dict | None = param(
        default=None,
        kind="dict or None",
        doc='Parameters of a named prior, e.g. ``{"std": 5.0}`` or ``{"n_components": 10}``.',
        check=check_dict,
    )
    hidden_layer_sizes: Sequence[int] = param(
        default=(256, 256),
        kind="tuple of int",
        doc="Hidden ReLU layers of $encoder; the decoder mirrors them.",
        check=check_sizes,
    )
    discriminator_hidden_layer_sizes: Sequence[int] | None = param(
        default=None,
        kind="tuple of int or None",
        doc="Hidden layers of $discriminators (None: ``hidden_layer_sizes``).",
        check=optional(check_sizes),
    )
    output: str = param(
        default="sigmoid",
        kind='{"sigmoid", "linear"}',
        doc='Decoder output: ``"sigmoid"`` for features in [0, 1] (a warning says when X leaves that range), '
        '``"linear"`` for standardized features.',
        check=one_of("sigmoid", "linear"),
    )
    max_epochs: int = param(default=100, kind="int", doc="Passes over the training data.", check=at_least(1))
    batch_size: int = param(
        default=100, kind="int", doc="Mini-batch size (at most the number of samples).", check=at_least(1)
    )
    learning_rate: float = param(
        default=1e-3, kind="float", doc="Adam learning rate of $lr_phases.", check=check_positive
    )
    discriminator_learning_rate: float = param(
        default=5e-5,
        kind="float",
        doc="Adam learning rate (betas 0.5, 0.999) of $discriminators.",
        check=check_positive,
    )
    generator_learning_rate: float = param(
        default=3e-4,
        kind="float",
        doc="Adam learning rate (betas 0.5, 0.999) of the encoder as generator. Faster than $discriminators: the "
        "encoder also has to keep reconstructing.",
        check=check_positive,
    )
    precision: str = param(
        default="auto",
        kind='{"auto", "float32", "bf16"}',
        doc="bf16 autocasts the forward passes (float32 weights); auto takes it where the hardware runs it fast "
        "and the model family is measured to train as well in it, float32 elsewhere.",
        check=one_of("auto", "float32", "bf16"),
    )
    device: str = param(
        default="cpu",
        kind="str",
        doc='``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``. Training is reproducible on the CPU.',
    )
    random_state: Any = param(
        default=None,
        kind="int, RandomState instance or None",
        doc="Seeds the weights, the data order and every noise draw.",
    )
    verbose: int = param(
        default=0,
        kind="int",
        doc="0: silent; 1: a progress bar (tqdm, on stderr) for each training, with its latest losses; 2: also "
        "a line of mean losses after every epoch. ``True`` is 1.",
        check=check_verbose,
    )

    def _validate_fit_data(self, X: Any, y: Any = None) -> tuple[np.ndarray, Any]:
        """The parameters, then ``X`` (and ``y`` when given) as scikit-learn validates them for ``fit``."""
        check_params(self)
        out = validate_data(self, X, y, dtype=FLOATS)
        X, y = (out, None) if y is None else out
        warn_scale(X, self.output)
        return X, y

    def _config(
        self,
        model: str,
        n_samples: int,
        seed: int,
        code_dim: int,
        *,
        encoder: str = "deterministic",
        noise_dim: int = 0,
        dropout: float = 0.0,
        input_noise: float = 0.0,
        n_clusters: int = 0,
        head_distance: float | None = None,
        categorical: bool = False,
        clustering: ClusteringConfig | None = None,
        semisupervised: SemiSupervisedConfig | None = None,
    ) -> Config:
        """The :class:`aae.config.Config` of a training: the one place that knows its layout.

        ``categorical``: a model with a categorical code y, whose classification phase takes
        mini-batches of labeled samples as large as the others. ``head_distance``: the margin
        between the cluster heads of the ``dimred`` models. ``clustering``: the batch-level and
        smoothness terms of the encoder's adversarial cost; ``semisupervised``: the classification
        phase's terms beside cross-entropy (none by default, either).
        """
        hidden = check_sizes("hidden_layer_sizes", self.hidden_layer_sizes)
        disc = self.discriminator_hidden_layer_sizes
        network = NetworkConfig(
            code_dim=code_dim,
            hidden=hidden,
            disc_hidden=hidden if disc is None else check_sizes("discriminator_hidden_layer_sizes", disc),
            output=self.output,
            encoder=encoder,
            noise_dim=noise_dim,
            dropout=float(dropout),
            input_noise=float(input_noise),
            n_clusters=n_clusters,
        )
        dimred = DimredConfig() if head_distance is None else DimredConfig(head_margin=float(head_distance))
        adam = {"name": "adam", "betas": [0.5, 0.999]}
        batch_size = min(int(self.batch_size), n_samples)
        return Config(
            name=type(self).__name__,
            model=model,
            network=network,
            prior={"name": self.prior, **(self.prior_params or {})},
            optim={
                "recon": OptimConfig("adam", float(self.learning_rate)),
                "disc": OptimConfig(lr=float(self.discriminator_learning_rate), **adam),
                "gen": OptimConfig(lr=float(self.generator_learning_rate), **adam),
                "classify": OptimConfig("adam", float(self.learning_rate)),
            },
            labeled_batch_size=batch_size if categorical else 0,
            epochs=int(self.max_epochs),
            batch_size=batch_size,
            seed=seed,
            device=self.device,
            precision=self.precision,
            families={
                "dimred": dimred,
                "clustering": clustering or ClusteringConfig(),
                "semisupervised": semisupervised or SemiSupervisedConfig(),
            },
        )

    def _fit_model(
        self,
        model: str,
        X: np.ndarray,
        y: np.ndarray,
        n_classes: int,
        code_dim: int,
        seed: int | None = None,
        training: tuple[int, int] = (1, 1),
        **kw,
    ) -> tuple[nn.Module, Config]:
        """Build the model ``model`` (``_config`` with ``kw``) and train it on ``X`` ``(n, d)``, ``y`` ``(n,)``.

        ``seed`` (default: drawn from ``random_state``) seeds the weights and the training;
        ``training``: (this one, of how many) in the fit, for the progress bar. Sets
        ``history_`` (one dict of mean losses per epoch); returns the model in eval mode and
        its config. Torch's global random state is left as it was.
        """
        seed = seed_from(self.random_state) if seed is None else seed
        with user_errors():
            cfg = self._config(model, len(X), seed, code_dim, **kw)
            dev = resolve_device(self.device)
            with torch.random.fork_rng(devices=[dev.index or 0] if dev.type == "cuda" else []):
                torch.manual_seed(seed)
                net = build_model(cfg, X.shape[1], n_classes).to(dev)
                x = torch.tensor(X, dtype=torch.float32, device=dev)
                trainer = Trainer(net, cfg, x, torch.as_tensor(y, dtype=torch.long, device=dev))
                with self._progress(training) as on_epoch_end:
                    trainer.fit(int(self.max_epochs), on_epoch_end=on_epoch_end)
        self.history_ = trainer.history
        return net.eval(), cfg

    @contextmanager
    def _progress(self, training: tuple[int, int]) -> Iterator[Callable[[dict], None] | None]:
        """What ``verbose`` shows of one training (``training``: this one, of how many), as the
        ``on_epoch_end`` callback of :meth:`Trainer.fit`: None when silent."""
        level = int(self.verbose)
        if level == 0:
            yield None
            return
        i, n = training
        desc = type(self).__name__ + (f" {i}/{n}" if n > 1 else "")
        with tqdm(total=int(self.max_epochs), desc=desc, unit="epoch", leave=True, dynamic_ncols=True) as bar:

            def on_epoch_end(metrics: dict) -> None:
                losses = {k: f"{v:.4g}" for k, v in metrics.items() if k.endswith(("_loss", "_acc"))}
                bar.set_postfix(losses, refresh=False)
                bar.update(1)
                if level >= 2:
                    text = " ".join(f"{k}={v}" for k, v in losses.items())
                    bar.write(f"{desc} epoch {metrics['epoch']}/{self.max_epochs}: {text} ({metrics['seconds']:.1f}s)")

            yield on_epoch_end

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


@with_params
class CategoricalMixin(AAEMixin):
    """The parameters, training and inference of the estimators with a categorical code y and a style z."""

    _doc_words = {
        **AAEMixin._doc_words,
        "code": "the style code z",
        "encoder": "the encoder (shared by the y and z heads)",
        "discriminators": "the discriminators",
        "lr_phases": "the reconstruction phase and of the classification phase (on the labeled samples)",
    }

    dropout: float = param(
        default=0.0,
        kind="float",
        doc="Dropout after every hidden layer of the encoder while training.",
        check=check_fraction,
    )
    input_noise: float = param(
        default=0.0,
        kind="float",
        doc="Standard deviation of Gaussian noise added to the encoder's input while training.",
        check=check_non_negative,
    )

    def _fit_categorical(self, model: str, X: np.ndarray, codes: np.ndarray, n_classes: int, code_dim: int, **kw):
        """:meth:`_fit_model` with the encoder's regularization and the classification phase's batches."""
        regularization = {"dropout": self.dropout, "input_noise": self.input_noise}
        return self._fit_model(model, X, codes, n_classes, code_dim, categorical=True, **regularization, **kw)

    def _memberships(self, X: np.ndarray, model: nn.Module | None = None) -> np.ndarray:
        """q(y|x) of ``model`` (default ``model_``) for validated rows ``X``: ``(n_samples, n_classes)``."""
        return self._infer(lambda m, x: m.predict_proba(x), X, model)

    def _proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, dtype=FLOATS, reset=False)
        return self._memberships(X)


@with_params
class BalanceMixin:
    """IMSAT's batch terms on q(y|x) in the encoder's adversarial cost (Hu et al. 2017): every
    class or cluster in use, each assignment confident. Together they make the mutual information
    between x and y."""

    balance_weight: float = param(
        default=1.0,
        kind="float",
        doc="Weight of log K minus the entropy of the batch-mean q(y|x) in the encoder's adversarial cost "
        "(nats; 0 when every class or cluster gets its share of the batch). Without it a training can put "
        "every unlabeled sample into one cluster. 0: off.",
        check=check_non_negative,
    )
    sharpness_weight: float = param(
        default=0.3,
        kind="float",
        doc="Weight of the mean entropy of q(y|x) (nats) in the encoder's adversarial cost: confident "
        "assignments. With ``balance_weight`` it makes the mutual information between x and y. 0: off.",
        check=check_non_negative,
    )

    def _batch_terms(self, **vat: float) -> ClusteringConfig:
        """The model's ``clustering`` terms: these weights, plus the VAT keys given (``vat_weight``, ``vat_eps``)."""
        return ClusteringConfig(
            balance_weight=float(self.balance_weight), sharpness_weight=float(self.sharpness_weight), **vat
        )


@with_params
class SmoothnessMixin:
    """Virtual adversarial smoothness of q(y|x) (Miyato et al. 2018), with a perturbation whose
    size follows the data: the parameters and the norm they give for a training set."""

    smoothness_weight: float = param(
        default=1.0,
        kind="float",
        doc="Weight of virtual adversarial training: the KL divergence between q(y|x) and q(y|x + r), r the "
        "perturbation of norm ``smoothness_radius`` that changes it most, on every mini-batch. 0: off.",
        check=check_non_negative,
    )
    smoothness_radius: float = param(
        default=0.4,
        kind="float",
        doc="Norm of that perturbation, as a fraction of the median distance from a training sample to its "
        "10th nearest neighbour (measured on at most 2,000 of them at ``fit``), so that it follows the "
        "data's scale.",
        check=check_positive,
    )

    def _smoothness_eps(self, X: np.ndarray, seed: int) -> float:
        """The perturbation's norm for training set ``X`` ``(n, d)``, in the units of ``X`` (> 0)."""
        return max(float(self.smoothness_radius) * neighbour_distance(X, 10, seed), 1e-6)  # duplicates: 0


def neighbour_distance(X: np.ndarray, k: int, seed: int, at_most: int = 2000) -> float:
    """Median Euclidean distance from a sample of ``X`` ``(n, d)`` to its ``k``-th nearest other
    sample, over at most ``at_most`` samples drawn by ``seed`` (the neighbours are sought among all)."""
    rows = np.random.RandomState(seed).permutation(len(X))[:at_most]
    dist = kth_neighbour_distance(torch.from_numpy(np.asarray(X, np.float32)), k, rows=torch.from_numpy(rows))
    return float(np.median(dist.numpy())) if len(dist) else 0.0


class CodeTransformerMixin(ClassNamePrefixFeaturesOutMixin, TransformerMixin):
    """``transform`` to codes of ``n_components`` values (``_codes``) and ``inverse_transform`` through the decoder."""

    def _codes(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def transform(self, X: Any) -> np.ndarray:
        """The codes of ``X``: ``(n_samples, n_components)``, in X's float dtype. Nothing is sampled."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=FLOATS, reset=False)
        return self._infer(self._codes, X).astype(X.dtype, copy=False)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Decoded data ``(n_samples, n_features_in_)`` of codes ``X`` ``(n_samples, n_components)``."""
        check_is_fitted(self)
        Z = check_array(X, dtype=FLOATS)
        if Z.shape[1] != self.n_components:
            raise ValueError(f"X has {Z.shape[1]} features, but inverse_transform expects {self.n_components} (codes)")
        return self._infer(lambda m, z: m.decoder(z), Z).astype(Z.dtype, copy=False)

    @property
    def _n_features_out(self) -> int:
        return self.n_components

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
