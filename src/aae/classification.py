"""Classification and clustering evaluation for models with a class head q(y|x).

The semi-supervised model predicts ``argmax q(y|x)``. An unsupervised clustering model
is evaluated as in the paper (§6): each cluster k takes the label of the validation
example with the highest q(y=k|x), and a test example gets its cluster's label.
"""

from __future__ import annotations

import torch

from aae.data import as_float
from aae.errors import AAEError
from aae.metrics import batched


def predict_proba(model, x: torch.Tensor, batch_size: int = 2000) -> torch.Tensor:
    """q(y|x) of every row of ``x`` ``(n, d)``: ``(n, K)`` on the CPU, in order."""
    model.eval()
    dev = model.device
    return batched(lambda b: model.predict_proba(as_float(b).to(dev)).cpu(), x, batch_size)


def cluster_labels(proba_val: torch.Tensor, y_val: torch.Tensor) -> torch.Tensor:
    """Label of each cluster: that of the validation example most confidently in it. ``(K,)``.

    ``proba_val`` ``(n, K)`` are cluster memberships, ``y_val`` ``(n,)`` true labels (>= 0).
    """
    if proba_val.ndim != 2 or len(proba_val) != len(y_val):
        raise AAEError(
            f"cluster evaluation needs memberships (n, K) and n labels, got {tuple(proba_val.shape)} "
            f"and {tuple(y_val.shape)}"
        )
    if len(y_val) == 0:
        raise AAEError("cluster evaluation needs labeled validation examples (data.validation > 0)")
    if bool((y_val < 0).any()):
        raise AAEError("cluster evaluation needs every validation example labeled")
    n_classes = int(y_val.max()) + 1
    k = proba_val.shape[1]
    if k < n_classes:
        raise AAEError(f"{k} clusters cannot name the {n_classes} classes (each cluster takes one label)")
    return y_val[proba_val.argmax(0)]


def majority_labels(proba_val: torch.Tensor, y_val: torch.Tensor) -> torch.Tensor:
    """Label of each cluster: the most frequent label of the validation examples assigned to it. ``(K,)``.

    Beside the paper's protocol (:func:`cluster_labels`), where one wrong most-confident example
    mislabels its whole cluster. A cluster no validation example falls in takes its most
    confident example's label.
    """
    fallback = cluster_labels(proba_val, y_val)
    n_classes, k = int(y_val.max()) + 1, proba_val.shape[1]
    counts = torch.zeros(k, n_classes, dtype=torch.long)
    counts.index_put_((proba_val.argmax(1), y_val), torch.ones(len(y_val), dtype=torch.long), accumulate=True)
    return torch.where(counts.sum(1) > 0, counts.argmax(1), fallback)


def confusion_counts(pred: torch.Tensor, y: torch.Tensor, n_classes: int | None = None) -> torch.Tensor:
    """Confusion matrix ``(C, C)`` of counts: row = true class, column = predicted class.

    ``pred`` and ``y`` are ``(n,)`` class indices >= 0; ``C`` is ``n_classes`` (so classes absent
    from both still get a row), or one more than the largest index seen where that is larger.
    """
    if pred.shape != y.shape or len(y) == 0:
        raise AAEError(f"predictions {tuple(pred.shape)} and labels {tuple(y.shape)} must be the same, non-empty size")
    c = max(n_classes or 0, int(max(pred.max(), y.max())) + 1)
    return torch.bincount(y.long() * c + pred.long(), minlength=c * c).view(c, c)


def predict_labels(proba: torch.Tensor, mapping: torch.Tensor | None = None) -> torch.Tensor:
    """Predicted class of each row of ``proba`` ``(n, K)``: argmax, through ``mapping`` ``(K,)`` if given."""
    pred = proba.argmax(1)
    return pred if mapping is None else mapping[pred]


def error_percent(pred: torch.Tensor, y: torch.Tensor) -> float:
    """Percentage of ``pred`` that differ from ``y`` (both ``(n,)``)."""
    if pred.shape != y.shape or len(y) == 0:
        raise AAEError(f"predictions {tuple(pred.shape)} and labels {tuple(y.shape)} must be the same, non-empty size")
    return 100.0 * float((pred != y).double().mean())


def hungarian_error(clusters: torch.Tensor, y: torch.Tensor) -> float:
    """Clustering error in percent under the best one-to-one matching of clusters to classes
    (the Hungarian algorithm, as IMSAT and most clustering papers report accuracy).

    ``clusters`` ``(n,)`` cluster indices, ``y`` ``(n,)`` labels >= 0. With more clusters than
    classes, the unmatched clusters' examples count as errors; so it is the paper's error only
    when the number of clusters is the number of classes.
    """
    from scipy.optimize import linear_sum_assignment

    if clusters.shape != y.shape or len(y) == 0:
        raise AAEError(f"clusters {tuple(clusters.shape)} and labels {tuple(y.shape)} must be the same, non-empty size")
    k, c = int(clusters.max()) + 1, int(y.max()) + 1
    counts = torch.zeros(k, c, dtype=torch.long)
    counts.index_put_((clusters.long().cpu(), y.long().cpu()), torch.ones(len(y), dtype=torch.long), accumulate=True)
    rows, cols = linear_sum_assignment(counts.numpy(), maximize=True)
    return 100.0 * (1.0 - float(counts[rows, cols].sum()) / len(y))
