"""Family ``clustering``: unsupervised clustering (paper §6); table ``[clustering]``, the batch-level
terms read by every model with a categorical code y."""
