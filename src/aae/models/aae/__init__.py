"""Family ``aae``: the adversarial autoencoder (paper §2), optionally label-informed (§2.3); table ``[aae]``."""
