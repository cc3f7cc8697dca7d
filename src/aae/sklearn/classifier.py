"""Semi-supervised classification (paper §5) as a scikit-learn classifier."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from aae.models.semisupervised.config import SemiSupervisedConfig
from aae.sklearn._base import STYLE_DIM_DOC, BalanceMixin, CategoricalMixin, SmoothnessMixin
from aae.sklearn._checks import at_least, encode_targets, seed_from
from aae.sklearn._params import estimator, param


@estimator
class SemiSupervisedAAEClassifier(ClassifierMixin, BalanceMixin, SmoothnessMixin, CategoricalMixin, BaseEstimator):
    """Semi-supervised classifier (paper §5): an AAE whose code is a class y and a style z.

    Every mini-batch trains reconstruction from [softmax(y), z], two discriminators (y against
    a uniform categorical distribution, z against ``prior``), and, on a mini-batch of the
    labeled samples, the cross-entropy of q(y|x), plus virtual adversarial smoothness of q(y|x) on
    the mini-batch (``smoothness_weight``) and, in the encoder's adversarial cost, IMSAT's batch
    terms (``balance_weight``, ``sharpness_weight``); all three at 0 is the paper's model. Samples
    with ``y == -1`` are unlabeled, as in ``sklearn.semi_supervised``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels seen in ``fit`` (other than -1), sorted.
    model_ : torch.nn.Module
        The trained :class:`aae.models.SemiSupervisedAAE`.
    smoothness_eps_ : float
        The norm of the virtual adversarial perturbation, in the units of ``X``.
    """

    _doc_words = {**CategoricalMixin._doc_words, "code_size": "style_dim"}

    style_dim: int = param(default=4, kind="int", doc=STYLE_DIM_DOC, check=at_least(1), kw_only=False)

    def fit(self, X: Any, y: Any) -> SemiSupervisedAAEClassifier:
        """Train on ``X`` ``(n_samples, n_features)`` and labels ``y`` ``(n_samples,)`` (-1: unlabeled)."""
        X, y = self._validate_fit_data(X, y)
        self.classes_, codes = encode_targets(y)
        n_classes = len(self.classes_)
        seed = seed_from(self.random_state)
        self.smoothness_eps_ = self._smoothness_eps(X, seed)
        terms = SemiSupervisedConfig(vat_weight=float(self.smoothness_weight), vat_eps=self.smoothness_eps_)
        self.model_, self.config_ = self._fit_categorical(
            "semisupervised",
            X,
            codes,
            n_classes,
            int(self.style_dim),
            seed=seed,
            semisupervised=terms,
            clustering=self._batch_terms(),
        )
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """q(y|x): ``(n_samples, n_classes)`` probabilities, columns in the order of ``classes_``."""
        return self._proba(X)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each sample ``(n_samples,)``, with the labels of ``y``."""
        index = self.predict_proba(X).argmax(1)
        return self.classes_[index]
