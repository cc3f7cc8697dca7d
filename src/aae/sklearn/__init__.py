"""scikit-learn estimators for people who bring their own ``(n_samples, n_features)`` arrays.

- :class:`AAETransformer`: a transformer; ``transform`` gives codes whose distribution
  matches a prior you choose, ``inverse_transform`` decodes, ``sample`` draws new data
  (paper §2).
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

try:
    import sklearn  # noqa: F401  (the real scikit-learn: imports here are absolute)
except ImportError as e:  # pragma: no cover
    raise ImportError("aae.sklearn needs scikit-learn: pip install 'aae[sklearn]'") from e

from aae.sklearn.autoencoder import AAETransformer
from aae.sklearn.classifier import SemiSupervisedAAEClassifier
from aae.sklearn.clustering import AAEClustering, consensus_membership, consensus_votes
from aae.sklearn.embedding import AAEEmbedding

__all__ = [
    "AAETransformer",
    "SemiSupervisedAAEClassifier",
    "AAEClustering",
    "AAEEmbedding",
    "consensus_votes",
    "consensus_membership",
]
