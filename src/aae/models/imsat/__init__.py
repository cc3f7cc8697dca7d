"""Family ``imsat``: IMSAT (Hu et al. 2017) alone, a network q(y|x) over ``network.n_clusters``
clusters trained with VAT and the batch terms of ``clustering``: the clustering AAE's extra terms
without the autoencoder, as their baseline. No table of its own."""
