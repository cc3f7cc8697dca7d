"""Family ``vae``: the variational autoencoder (Kingma and Welling 2014); table ``[vae]``."""
