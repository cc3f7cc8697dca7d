"""Unsupervised clustering (paper §6) as a scikit-learn clusterer, and the consensus of several clusterings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans
from sklearn.utils.validation import check_is_fitted, validate_data

from aae.sklearn._base import STYLE_DIM_DOC, BalanceMixin, CategoricalMixin, SmoothnessMixin
from aae.sklearn._checks import FLOATS, at_least, one_of, seed_from
from aae.sklearn._params import estimator, param

COMBINE = ("consensus", "most_confident")


@estimator
class AAEClustering(ClusterMixin, BalanceMixin, SmoothnessMixin, CategoricalMixin, BaseEstimator):
    """Unsupervised clustering (paper §6): an AAE whose code is a cluster y and a style z.

    The same network as :class:`SemiSupervisedAAEClassifier` without labels: a discriminator
    makes the softmax y look like one-hot vectors drawn uniformly from ``n_clusters``, another
    matches z to ``prior``; a sample's cluster is ``argmax q(y|x)``. Three terms of IMSAT (Hu et
    al. 2017) join the encoder's adversarial cost, all on by default, since without them a training
    can put every sample into one cluster (a discriminator that judges one code at a time cannot see
    that): the entropy of the batch-mean q(y|x) (every cluster used), the mean entropy of q(y|x)
    (confident assignments) and virtual adversarial smoothness (a sample and its nearby perturbations
    share a cluster). ``balance_weight=0, sharpness_weight=0, smoothness_weight=0`` is the paper's
    model. A cluster may stay empty.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of every training sample.
    confidence_ : float
        Mean max of ``predict_proba`` over the training samples.
    smoothness_eps_ : float
        The norm of the virtual adversarial perturbation, in the units of ``X``.
    cluster_order_ : ndarray of shape (n_clusters,)
        Clusters are numbered from the largest on the training data down, so that the clusters in
        use are 0 to m - 1 and empty ones come last: cluster j is unit ``cluster_order_[j]`` of
        q(y|x) (or of the consensus).
    model_ : torch.nn.Module
        The trained :class:`aae.models.ClusteringAAE` (with ``n_init`` > 1: the most
        confident training).
    models_ : list of torch.nn.Module
        Every training that takes part in ``predict_proba`` (one, unless combined by consensus).
    votes_ : list of ndarray of shape (n_clusters, n_clusters) or None
        For the consensus: row j of ``votes_[i]`` is P(consensus cluster | cluster j of
        ``models_[i]``) on the training data. None for a single training.
    """

    _doc_words = {**CategoricalMixin._doc_words, "code_size": "style_dim", "lr_phases": "the reconstruction phase"}

    n_clusters: int = param(
        default=10, kind="int", doc="Number of clusters (softmax units of y).", check=at_least(2), kw_only=False
    )
    style_dim: int = param(default=8, kind="int", doc=STYLE_DIM_DOC, check=at_least(1))
    n_init: int = param(
        default=3,
        kind="int",
        doc="Number of trainings from different initialisations (as k-means' ``n_init``), combined as ``combine`` "
        "says; the fit takes that many times as long. One training is a gamble (its adjusted Rand index varies "
        "widely from seed to seed); the consensus of 3 beat k-means on every seed measured (the docs' "
        "scikit-learn page). 1: a single training.",
        check=at_least(1),
    )
    combine: str = param(
        default="consensus",
        kind='{"consensus", "most_confident"}',
        doc='How ``n_init`` > 1 trainings become one clustering. ``"consensus"`` (a cluster ensemble): k-means '
        "(``n_clusters``) on the concatenated memberships q(y|x) of all trainings gives consensus clusters; each "
        "training then votes through its table of P(consensus cluster | its own cluster), and a sample's "
        'membership is the mean vote. ``"most_confident"``: keep the training with the highest mean max q(y|x) '
        "on the training data (y codes nearest the one-hot prior).",
        check=one_of(*COMBINE),
    )

    def fit(self, X: Any, y: Any = None) -> AAEClustering:
        """Train on ``X`` ``(n_samples, n_features)``; ``y`` is ignored. Sets ``labels_``."""
        X, _ = self._validate_fit_data(X)
        # the first training uses the estimator's seed (n_init=1 is the plain fit); the others
        # seeds drawn from it
        seed = seed_from(self.random_state)
        rng = np.random.RandomState(seed)
        seeds = [seed, *(int(rng.randint(np.iinfo(np.int32).max)) for _ in range(int(self.n_init) - 1))]
        unlabeled, style_dim, n_clusters = np.full(len(X), -1), int(self.style_dim), int(self.n_clusters)
        self.smoothness_eps_ = self._smoothness_eps(X, seed)
        terms = self._batch_terms(vat_weight=float(self.smoothness_weight), vat_eps=self.smoothness_eps_)
        fits = []
        for i, s in enumerate(seeds, 1):
            model, cfg = self._fit_categorical(
                "clustering", X, unlabeled, 0, style_dim, seed=s, n_clusters=n_clusters, clustering=terms,
                training=(i, len(seeds)),
            )  # fmt: skip
            proba = self._memberships(X, model)
            fits.append((float(proba.max(1).mean()), model, cfg, self.history_, proba))
        _, self.model_, self.config_, self.history_, proba = max(fits, key=lambda f: f[0])
        if self.combine == "consensus" and len(fits) > 1:
            probas = [f[4] for f in fits]
            self.models_ = [f[1] for f in fits]
            self.votes_ = consensus_votes(probas, n_clusters, seed)
            proba = consensus_membership(probas, self.votes_)
        else:
            self.models_, self.votes_ = [self.model_], None
        counts = np.bincount(proba.argmax(1), minlength=n_clusters)
        self.cluster_order_ = np.argsort(-counts, kind="stable")
        proba = proba[:, self.cluster_order_]
        self.labels_ = proba.argmax(1)
        self.confidence_ = float(proba.max(1).mean())
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Cluster memberships ``(n_samples, n_clusters)``: q(y|x), or the consensus vote."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=FLOATS, reset=False)
        probas = [self._memberships(X, model) for model in self.models_]
        proba = probas[0] if self.votes_ is None else consensus_membership(probas, self.votes_)
        return proba[:, self.cluster_order_]

    def predict(self, X: Any) -> np.ndarray:
        """Cluster of each sample ``(n_samples,)`` in 0..n_clusters-1 (argmax of ``predict_proba``)."""
        return self.predict_proba(X).argmax(1)


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
