"""Named configurations, one per paper experiment: ``aae presets`` lists them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aae.config import Config
from aae.errors import AAEError
from aae.presets.categorical import (
    mnist_clusters,
    mnist_clusters_paper,
    mnist_clusters_terms_phase,
    mnist_dimred,
    mnist_dimred_unsupervised,
    mnist_dimred_unsupervised_paper,
    mnist_semisupervised,
    mnist_semisupervised_1000_vat,
    mnist_semisupervised_vat,
)
from aae.presets.components import mnist_imsat, mnist_vat_100
from aae.presets.generative import (
    mnist_autoencoder_2d,
    mnist_gaussian_2d,
    mnist_gaussian_8d,
    mnist_mixture_2d,
    mnist_mixture_2d_labels,
    mnist_supervised_style,
    mnist_supervised_style_paper,
    mnist_swissroll_2d_labels,
    mnist_vae_2d,
    mnist_wae_mmd_2d,
)
from aae.presets.standardized import svhn_semisupervised_1000, svhn_supervised_style, tfd_gaussian_15d


@dataclass(frozen=True)
class Preset:
    name: str
    reproduces: str  # the paper figure / table
    description: str
    make: Callable[[], Config]


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        Preset(
            "mnist-gaussian-2d",
            "Fig. 2a, 2e",
            "2-D code, Gaussian prior; latent scatter and manifold",
            mnist_gaussian_2d,
        ),
        Preset("mnist-mixture-2d", "Fig. 2b", "2-D code, mixture of 10 Gaussians, no labels", mnist_mixture_2d),
        Preset(
            "mnist-mixture-2d-labels",
            "Fig. 4a",
            "mixture of 10 Gaussians, one per digit; 10K labeled + 40K unlabeled",
            mnist_mixture_2d_labels,
        ),
        Preset(
            "mnist-swissroll-2d-labels",
            "Fig. 4c",
            "swiss roll cut in 10 segments, one per digit; 10K labeled + 40K unlabeled",
            mnist_swissroll_2d_labels,
        ),
        Preset(
            "mnist-autoencoder-2d",
            "Fig. 2 baseline",
            "as mnist-gaussian-2d without regularization: a plain autoencoder",
            mnist_autoencoder_2d,
        ),
        Preset(
            "mnist-wae-mmd-2d",
            "WAE baseline",
            "as mnist-gaussian-2d, codes matched to the prior by an MMD penalty (WAE-MMD, λ=10)",
            mnist_wae_mmd_2d,
        ),
        Preset(
            "mnist-vae-2d",
            "VAE baseline",
            "as mnist-gaussian-2d, Gaussian encoder and KL penalty (VAE, Bernoulli likelihood)",
            mnist_vae_2d,
        ),
        Preset(
            "mnist-gaussian-8d",
            "Table 1, Fig. 5",
            "generative model: 8-D code, Gaussian prior std 5",
            mnist_gaussian_8d,
        ),
        Preset(
            "mnist-supervised-style",
            "Fig. 6, 7a",
            "label to the decoder, 15-D Gaussian style matched within each class; rows of styles x columns of digits",
            mnist_supervised_style,
        ),
        Preset(
            "mnist-supervised-style-paper",
            "Fig. 6, 7a",
            "the paper's model: 15-D style matched to the Gaussian as a whole (the decoder often ignores the label)",
            mnist_supervised_style_paper,
        ),
        Preset(
            "tfd-gaussian-15d",
            "Table 1 (TFD: 2252 ± 16)",
            "TFD faces, 15-D code, Gaussian prior std 10, standardized pixels, linear decoder; data.fold 0-4",
            tfd_gaussian_15d,
        ),
        Preset(
            "svhn-supervised-style",
            "Fig. 7b",
            "SVHN, label to the decoder, 20-D style; rows of styles x columns of digits",
            svhn_supervised_style,
        ),
        Preset(
            "mnist-semisupervised-100",
            "Table 2 (1.90 %)",
            "semi-supervised classification with 100 labels (10 per class)",
            mnist_semisupervised(100),
        ),
        Preset(
            "mnist-semisupervised-100-vat",
            "beyond Table 2 (target < 1.5 %)",
            "the 100-label preset plus virtual adversarial training of q(y|x) in the adversarial phase",
            mnist_semisupervised_vat,
        ),
        Preset(
            "mnist-semisupervised-1000",
            "Table 2 (1.60 %)",
            "semi-supervised classification with 1000 labels",
            mnist_semisupervised(1000),
        ),
        Preset(
            "mnist-semisupervised-1000-vat",
            "beyond Table 2 (1.60 %)",
            "the 1000-label preset with the 100-label VAT preset's recipe",
            mnist_semisupervised_1000_vat,
        ),
        Preset(
            "mnist-semisupervised-all",
            "Table 2 (0.85 %)",
            "the same network with all 50K training labels",
            mnist_semisupervised(-1),
        ),
        Preset(
            "svhn-semisupervised-1000",
            "Table 2 (17.70 %)",
            "SVHN + extra, 1000 labels, 2x3000 units with batch norm, 20-D style, standardized pixels",
            svhn_semisupervised_1000,
        ),
        Preset(
            "mnist-clusters-16",
            "Table 3 (9.55 %)",
            "unsupervised clustering into 16 clusters, IMSAT's batch terms beside the paper's",
            mnist_clusters(16),
        ),
        Preset(
            "mnist-clusters-30",
            "Table 3, Fig. 9 (4.10 %)",
            "unsupervised clustering into 30 clusters, IMSAT's batch terms beside the paper's",
            mnist_clusters(30),
        ),
        Preset(
            "mnist-clusters-16-terms-phase",
            "Table 3 (9.55 %)",
            "mnist-clusters-16 with IMSAT's terms, weights and Adam step in a phase of their own",
            mnist_clusters_terms_phase(16),
        ),
        Preset(
            "mnist-clusters-30-terms-phase",
            "Table 3, Fig. 9 (4.10 %)",
            "mnist-clusters-30 with IMSAT's terms, weights and Adam step in a phase of their own",
            mnist_clusters_terms_phase(30),
        ),
        Preset(
            "mnist-clusters-16-paper",
            "Table 3 (9.55 %)",
            "the paper's objective alone (no batch terms): 16 clusters, Adam and noisy discriminator inputs",
            mnist_clusters_paper(16),
        ),
        Preset(
            "mnist-clusters-30-paper",
            "Table 3, Fig. 9 (4.10 %)",
            "the paper's objective alone (no batch terms): 30 clusters",
            mnist_clusters_paper(30),
        ),
        Preset(
            "mnist-dimred-2d-1000",
            "Fig. 11a (4.20 %)",
            "2-D representation W_C·y + z with learned cluster heads, 1000 labels; VAT of q(y|x)",
            mnist_dimred(1000, 2),
        ),
        Preset(
            "mnist-dimred-2d-100",
            "Fig. 11b (6.08 %)",
            "2-D representation with learned cluster heads, 100 labels; VAT of q(y|x), inputs shifted by up to 2 px",
            mnist_dimred(100, 2),
        ),
        Preset(
            "mnist-dimred-2d-unsup-20",
            "Fig. 11d (~13.5 %)",
            "unsupervised 2-D representation with 20 learned cluster heads, IMSAT's batch terms",
            lambda: mnist_dimred_unsupervised(20),
        ),
        Preset(
            "mnist-dimred-10d-100",
            "Fig. 11c (3.90 %)",
            "10-D representation, heads fixed to 10·I (drawn on a circle), 100 labels; VAT of q(y|x), inputs shifted",
            mnist_dimred(100, 10, "identity"),
        ),
        Preset(
            "mnist-dimred-2d-1000-paper",
            "Fig. 11a (4.20 %)",
            "the paper's objective alone (no VAT), 100 epochs: 2-D, learned heads, 1000 labels",
            mnist_dimred(1000, 2, paper=True),
        ),
        Preset(
            "mnist-dimred-2d-100-paper",
            "Fig. 11b (6.08 %)",
            "the paper's objective alone (no VAT), 100 epochs: 2-D, learned heads, 100 labels",
            mnist_dimred(100, 2, paper=True),
        ),
        Preset(
            "mnist-dimred-10d-100-paper",
            "Fig. 11c (3.90 %)",
            "the paper's objective alone (no VAT), 100 epochs: 10-D, heads fixed to 10·I, 100 labels",
            mnist_dimred(100, 10, "identity", paper=True),
        ),
        Preset(
            "mnist-dimred-2d-unsup-20-paper",
            "Fig. 11d (~13.5 %)",
            "the paper's objective alone (no batch terms): unsupervised 2-D representation, 20 heads",
            lambda: mnist_dimred_unsupervised_paper(20),
        ),
        Preset(
            "mnist-vat-100",
            "baseline of Table 2 (VAT alone: 1.36 %)",
            "virtual adversarial training alone, 100 labels: a 1200-1200 MLP, no decoder, no discriminator",
            mnist_vat_100,
        ),
        Preset(
            "mnist-imsat-10",
            "baseline of Table 3 (IMSAT alone: 1.6 %)",
            "IMSAT alone, 10 clusters: a 1200-1200 MLP, VAT at 0.25 x the 10th-neighbour distance, batch terms",
            mnist_imsat(10),
        ),
        Preset(
            "mnist-imsat-16",
            "baseline of Table 3 (9.55 %)",
            "IMSAT alone with 16 clusters, evaluated as the 16-cluster AAE is",
            mnist_imsat(16),
        ),
    ]
}


def get_preset(name: str) -> Config:
    if name not in PRESETS:
        raise AAEError(f"unknown preset {name!r}; `aae presets` lists them: {', '.join(PRESETS)}")
    return PRESETS[name].make()
