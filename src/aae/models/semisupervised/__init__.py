"""Family ``semisupervised``: semi-supervised classification (paper §5); table ``[semisupervised]``, the
classification phase's terms, read by every model with such a phase."""
