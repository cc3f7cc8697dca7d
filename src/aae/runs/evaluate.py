"""Evaluating a trained run: its data splits, codes, predictions, test metrics and Parzen likelihood."""

from __future__ import annotations

from typing import Any

import torch

from aae.classification import (
    cluster_labels,
    confusion_counts,
    error_percent,
    hungarian_error,
    majority_labels,
    predict_labels,
    predict_proba,
)
from aae.data import Splits, as_float, load_splits
from aae.errors import AAEError
from aae.metrics import (
    batched,
    choose_parzen_sigma,
    label_match_fraction,
    parzen_evaluate,
    prior_mmd,
    reconstruction_mse,
)
from aae.runs.files import Run


def run_splits(run: Run, data_dir: str | None = None) -> Splits:
    """The run's data split as it was trained; read from ``data_dir``, else from where the run read them."""
    cfg = run.cfg
    d = cfg.data
    return load_splits(
        d.dataset,
        data_dir or run.data_dir,
        d.validation,
        d.n_labeled,
        d.labels_drawn_by(cfg.seed),
        fold=d.fold,
        split=d.split,
    )


def split_tensors(splits: Splits, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    if split not in ("train", "val", "test"):
        raise AAEError(f"unknown split {split!r}; choose train, val or test")
    return getattr(splits, f"x_{split}"), getattr(splits, f"y_{split}")


def encode_split(run: Run, x: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Codes of ``x`` (float or uint8 pixels) in order, ``(n, code_dim)``; stochastic encoders draw with ``seed``."""
    g = torch.Generator(run.model.device).manual_seed(seed)
    return batched(lambda b: run.model.encode(as_float(b.to(run.model.device)), g), x).cpu()


def code_metrics(run: Run, x: torch.Tensor, y: torch.Tensor, seed: int = 0) -> dict[str, float]:
    """``recon_mse`` (per pixel), ``prior_mmd`` of the codes (with ``prior_mmd_se``, its standard
    error, where there are at least two blocks of codes) and, for label priors, ``label_match``
    on the images ``x`` ``(n, d)`` with labels ``y`` ``(n,)``; nothing for a model without codes."""
    model = run.model.eval()
    if not model.capabilities.codes:
        return {}
    dev = model.device
    x = x.to(dev)
    codes = encode_split(run, x, seed)
    g = torch.Generator().manual_seed(seed + 1)
    value, se = prior_mmd(codes, model.prior, g)
    out = {"recon_mse": reconstruction_mse(model, x, y.to(dev)), "prior_mmd": value}
    if se is not None:
        out["prior_mmd_se"] = se
    if model.capabilities.label_prior:
        out["label_match"] = label_match_fraction(codes, y, model.prior)
    return out


def evaluate(run: Run, splits: Splits, seed: int = 0) -> dict[str, Any]:
    """Test-split metrics: ``recon_mse`` (per pixel), ``prior_mmd``, ``label_match`` for label priors,
    ``test_error`` (and ``val_error``) for models that predict classes or clusters."""
    out: dict[str, Any] = code_metrics(run, splits.x_test, splits.y_test, seed)
    if run.model.capabilities.predicts:
        out.update(classification_metrics(run, splits))
    return out


def evaluate_validation(run: Run, splits: Splits, seed: int = 0) -> dict[str, Any]:
    """Validation-split metrics, the test split left unread (for choosing settings): ``val_recon_mse``,
    ``val_prior_mmd``, ``val_label_match`` for label priors and ``val_error`` for classifiers.

    A clustering model's clusters are named from the validation split itself (:func:`predict_split`),
    so its ``val_error`` is optimistic: fit to rank runs, not to report one.
    """
    if len(splits.x_val) == 0:
        raise AAEError(f"run {run.path} has no validation split (data.validation=0): nothing to evaluate it on")
    metrics = code_metrics(run, splits.x_val, splits.y_val, seed)
    out: dict[str, Any] = {f"val_{k}": v for k, v in metrics.items()}
    if run.model.capabilities.predicts and can_score(splits):
        out["val_error"] = error_percent(predict_split(run, splits, "val"), splits.y_val)
    return out


def can_score(splits: Splits) -> bool:
    """The validation split is labeled throughout, so a classifier's error can be measured on it."""
    return len(splits.y_val) > 0 and bool((splits.y_val >= 0).all())


def predict_split(run: Run, splits: Splits, split: str) -> torch.Tensor:
    """Predicted class of every example of ``split`` ``(n,)``, in order.

    Semi-supervised models predict argmax q(y|x); clustering models map each cluster to the
    label of its most confident validation example (paper §6).
    """
    model = run.model
    if not model.capabilities.predicts:
        raise AAEError(f"run {run.path} ({run.cfg.model} model) has no classifier q(y|x) to predict with")
    x, _ = split_tensors(splits, split)
    proba = predict_proba(model, x)
    mapping = None
    if model.capabilities.clusters:
        mapping = cluster_labels(predict_proba(model, splits.x_val), splits.y_val)
    return predict_labels(proba, mapping)


def val_hungarian_error(run: Run, splits: Splits) -> float:
    """A clustering model's validation error with clusters matched one-to-one to classes
    (:func:`~aae.classification.hungarian_error`): the learning curve of ``test_error_hungarian``."""
    return hungarian_error(predict_proba(run.model, splits.x_val).argmax(1), splits.y_val)


def classification_metrics(run: Run, splits: Splits) -> dict[str, Any]:
    """``test_error`` (and ``val_error`` for semi-supervised models) in percent; for clustering
    models also ``test_error_majority``, each cluster named by its validation images' majority label;
    ``test_error_hungarian``, the clustering literature's error (each class matched to one
    cluster on the test split itself, :func:`~aae.classification.hungarian_error`);
    ``test_confusion``, the test split's confusion matrix as lists of counts (row: true class,
    column: predicted class; clusters named as for ``test_error``)."""
    can = run.model.capabilities
    n_classes = int(max(splits.y_test.max(), splits.y_val.max() if len(splits.y_val) else 0)) + 1
    if can.clusters:  # both namings of the clusters from one pass over each split
        proba_val, proba_test = predict_proba(run.model, splits.x_val), predict_proba(run.model, splits.x_test)
        confident = predict_labels(proba_test, cluster_labels(proba_val, splits.y_val))
        majority = predict_labels(proba_test, majority_labels(proba_val, splits.y_val))
        return {
            "test_error": error_percent(confident, splits.y_test),
            "test_error_majority": error_percent(majority, splits.y_test),
            "test_error_hungarian": hungarian_error(proba_test.argmax(1), splits.y_test),
            "test_confusion": confusion_counts(confident, splits.y_test, n_classes).tolist(),
        }
    pred = predict_split(run, splits, "test")
    out: dict[str, Any] = {"test_error": error_percent(pred, splits.y_test)}
    if can.classes and len(splits.y_val):
        out["val_error"] = error_percent(predict_split(run, splits, "val"), splits.y_val)
    out["test_confusion"] = confusion_counts(pred, splits.y_test, n_classes).tolist()
    return out


def parzen_run(run: Run, splits: Splits, n_samples: int = 10000, seed: int = 0, test: bool = True) -> dict[str, float]:
    """Parzen-window log-likelihood of the test split under ``n_samples`` decoded prior samples (paper Table 1).

    σ is chosen on the validation split. Samples and images are in data units ([0, 1] for
    images): a standardized run's decoder maps its samples back (as the paper does for TFD),
    and uint8 pixels are scaled per block. Returns ``parzen_ll`` (nats, mean over test
    points), ``parzen_sem``, ``parzen_sigma`` and ``parzen_val_ll``; with ``test=False`` only
    the last two, the test split left unread.
    """
    if n_samples < 1:
        raise AAEError(f"--n-samples must be >= 1, got {n_samples}")
    if len(splits.x_val) == 0:
        raise AAEError("the Parzen σ is chosen on the validation split, and this run has none (data.validation=0)")
    model = run.model.eval()
    g = torch.Generator(model.device).manual_seed(seed)
    # decode in blocks: 10,000 samples through a 1000-wide decoder at once is needlessly large
    samples = torch.cat([model.sample(min(2000, n_samples - i), g) for i in range(0, n_samples, 2000)])
    dev = model.device
    if not test:
        sigma, val_ll = choose_parzen_sigma(samples, splits.x_val.to(dev))
        return {"parzen_sigma": sigma, "parzen_val_ll": val_ll}
    return parzen_evaluate(samples, splits.x_val.to(dev), splits.x_test.to(dev))
