"""Family ``autoencoder``: encoder and decoder on the reconstruction cost alone, the baseline of the
paper's figures and the base of the models with one code z (``aae``, and ``wae`` / ``vae`` through
:mod:`aae.models.penalty`). No table of its own."""
