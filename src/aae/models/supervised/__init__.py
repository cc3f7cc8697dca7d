"""Family ``supervised``: style and content (paper §4), the decoder receives the label; table ``[supervised]``."""
