"""A low-dimensional embedding for visualisation with learned cluster heads (paper §7) as a scikit-learn transformer."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator
from torch import nn

from aae.sklearn._base import CategoricalMixin, CodeTransformerMixin
from aae.sklearn._checks import at_least, check_positive, encode_targets
from aae.sklearn._params import estimator, param


@estimator
class AAEEmbedding(CodeTransformerMixin, CategoricalMixin, BaseEstimator):
    """A low-dimensional embedding for visualisation (paper §7, Fig. 11-12): ``W_C·y + z``.

    The encoder gives a cluster y (softmax over ``n_clusters``) and a code z of
    ``n_components`` values matched to ``prior``; each cluster has a learned head, a row of
    ``W_C`` ``(n_clusters, n_components)``, kept at least ``head_distance`` from every other
    head, and the embedding of a sample is its head (weighted by q(y|x)) plus its style z
    (``transform``: ``softmax(y)·W_C + z``). The decoder reconstructs from that embedding, so
    the embedding both separates clusters and keeps the within-cluster variation. With labels
    (``fit(X, y)``, -1 for unlabeled samples) there is one head per class and q(y|x) is also
    trained on the labeled samples (the semi-supervised variant of §7); ``n_clusters`` is then
    not used.

    The model is the library's :class:`aae.models.DimensionalityReductionAAE` (models
    ``dimred`` and ``dimred-clustering`` of the CLI presets), trained by :class:`aae.training.Trainer`.

    Attributes
    ----------
    cluster_heads_ : ndarray of shape (n_heads, n_components)
        The learned heads ``W_C``: one per cluster, or per class of ``classes_``.
    classes_ : ndarray of shape (n_classes,) or None
        The labels seen in ``fit`` (other than -1), or None when fitted without labels.
    model_ : torch.nn.Module
        The trained :class:`aae.models.DimensionalityReductionAAE` (with labels) or
        :class:`aae.models.DimredClusteringAAE` (without).
    """

    _doc_words = {
        **CategoricalMixin._doc_words,
        "lr_phases": "the reconstruction phase (which also moves the heads) and of the classification phase",
    }

    n_components: int = param(
        default=2,
        kind="int",
        doc="Size of the embedding (2 or 3 for plots; any size >= 1 works).",
        check=at_least(1),
        kw_only=False,
    )
    n_clusters: int = param(
        default=10, kind="int", doc="Number of cluster heads when ``fit`` gets no labels.", check=at_least(2)
    )
    head_distance: float = param(
        default=6.0,
        kind="float",
        doc="The threshold η > 0: heads closer than this are pushed apart (in units of the style prior's scale, 1 for "
        "the default Gaussian); the heads start about this far apart.",
        check=check_positive,
    )

    def fit(self, X: Any, y: Any = None) -> AAEEmbedding:
        """Train on ``X`` ``(n_samples, n_features)``, with labels ``y`` (-1: unlabeled) if given."""
        X, y = self._validate_fit_data(X, y)
        codes = np.full(len(X), -1) if y is None else np.asarray(y)
        self.classes_ = None
        if y is not None and not np.all(codes == -1):
            self.classes_, codes = encode_targets(y)
        n_classes = 0 if self.classes_ is None else len(self.classes_)
        # with labels: one head per class (semi-supervised, model "dimred"); else n_clusters heads
        model, k = ("dimred", 0) if n_classes else ("dimred-clustering", int(self.n_clusters))
        self.model_, self.config_ = self._fit_categorical(
            model, X, codes, n_classes, int(self.n_components), n_clusters=k, head_distance=self.head_distance
        )
        self.cluster_heads_ = self.model_.cluster_heads.detach().float().cpu().numpy().astype(np.float64)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """q(y|x): ``(n_samples, n_heads)``, over the clusters or the classes of ``classes_``."""
        return self._proba(X)

    def _codes(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return model.represent(x)
