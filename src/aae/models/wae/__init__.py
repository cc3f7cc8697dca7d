"""Family ``wae``: the Wasserstein autoencoder with an MMD penalty (Tolstikhin et al. 2018); table ``[wae]``."""
