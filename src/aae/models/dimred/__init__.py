"""Family ``dimred``: dimensionality reduction with cluster heads (paper §7), models ``dimred`` and
``dimred-clustering``; table ``[dimred]``."""
