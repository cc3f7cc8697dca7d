"""The PNG figures of a run (``<run>/figures``), each drawn where the model declares the capability.

Each figure's title names the run and its model kind (:func:`aae.runs.plots.run_label`) and
says what it shows; grids label their rows and columns.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from aae.classification import predict_proba
from aae.data import Splits, as_float
from aae.metrics import batched
from aae.priors import single_gaussian
from aae.runs import plots
from aae.runs.evaluate import encode_split
from aae.runs.files import Run

#: what matches the codes q(z) to the prior p(z), by model kind (``Config.model``)
MATCHING = {
    "autoencoder": "no regularization: the prior is drawn for comparison only",
    "aae": "matched to the prior by a discriminator",
    "wae": "matched to the prior by an MMD penalty",
    "vae": "matched to the prior by a KL penalty",
}


def draw_figures(run: Run, splits: Splits, seed: int = 0) -> list[Path]:
    """Write the run's PNG figures into ``<run>/figures``; returns their paths."""
    fig_dir = run.path / "figures"
    fig_dir.mkdir(exist_ok=True)
    model, paths = run.model.eval(), []
    label = plots.run_label(run.path.resolve().name, run.cfg.name, run.cfg.model)

    def title(what: str) -> str:
        return f"{label}\n{what}"

    can = model.capabilities
    if not can.codes:
        return paths  # a component alone (q(y|x) only): no codes, prior or decoder to draw
    dev = model.device
    x, y = splits.x_test, splits.y_test
    codes = encode_split(run, x.to(dev), seed).numpy()
    g = torch.Generator().manual_seed(seed)
    prior_samples = model.prior.sample(5000, g).numpy()
    if can.representation:
        # the learned representation W_C·y + z (paper Fig. 11), with the cluster heads marked
        rep = batched(lambda b: model.represent(as_float(b).to(dev)), x).to(dev)
        p = fig_dir / "representation.png"
        heads = model.view_2d(model.cluster_heads).cpu().numpy()
        plots.latent_scatter(
            p,
            model.view_2d(rep).cpu().numpy(),
            y.numpy(),
            title(f"test representation W·y + z of {len(x)} test images, with the cluster heads"),
            marks=heads,
            codes_label="test representations",
            axis_names=("dimension 1", "dimension 2"),
        )
        paths.append(p)
    if codes.shape[1] >= 2:
        p = fig_dir / "latent.png"
        dims = f" (first two of {codes.shape[1]} dimensions)" if codes.shape[1] > 2 else ""
        matching = MATCHING.get(run.cfg.model, "matched to the prior")
        plots.latent_scatter(
            p,
            codes,
            y.numpy(),
            title(f"codes z of {len(x)} test images{dims}; {matching}"),
            prior_samples=prior_samples,
            codes_label="test codes q(z|x)",
        )
        paths.append(p)
    if run.image_shape is None:
        return paths
    shape = run.image_shape
    samples = model.sample(100, g).cpu().numpy()
    p = fig_dir / "samples.png"
    plots.save_image_grid(
        p,
        samples,
        10,
        10,
        shape,
        title=title("100 decoded prior samples"),
        xlabel="each image: decoder(z), z drawn from the prior p(z)",
    )
    paths.append(p)
    n = min(50, len(x))
    originals = as_float(x[:n])
    recon = model.reconstruct(originals.to(dev), y[:n].to(dev)).cpu().numpy()
    p = fig_dir / "reconstructions.png"
    pairs = plots.interleave_rows(originals.numpy(), recon, cols=10)
    rows = len(pairs) // 10 + (len(pairs) % 10 > 0)
    plots.save_image_grid(
        p,
        pairs,
        rows,
        10,
        shape,
        title=title(f"the first {n} test images and their reconstructions"),
        xlabel="odd rows: test images; even rows: decoder(encoder(x)) of the image above",
        row_labels=["original", "reconstruction"] * (rows // 2 + 1),
        row_groups=2,
    )
    paths.append(p)
    if can.label_decoder:
        # style / content (Fig. 7a): each row one style z from the prior, each column one class
        k = min(model.sample_classes, 30)
        z = model.prior.sample(10, g).to(dev).repeat_interleave(k, 0)
        p = fig_dir / "styles.png"
        plots.save_image_grid(
            p,
            model.decode(z, torch.arange(k).repeat(10)).cpu().numpy(),
            10,
            k,
            shape,
            title=title("style and content: one style z per row, one class y per column"),
            xlabel="class y given to the decoder",
            ylabel="style z drawn from the prior",
            row_labels=[f"z{i + 1}" for i in range(10)],
            col_labels=[str(c) for c in range(k)],
        )
        paths.append(p)
    if can.heads:
        # one row per class / cluster (Fig. 9): its head (style z = 0), then test images assigned to it
        assigned = predict_proba(model, x).argmax(1)
        unit = "class" if can.classes else "cluster"
        p = fig_dir / "clusters.png"
        plots.cluster_rows(
            p,
            model.heads().cpu().numpy(),
            as_float(x).numpy(),
            assigned.numpy(),
            shape,
            title=title(f"one row per {unit}: its head, then test images assigned to it"),
            unit=unit,
        )
        paths.append(p)
    if codes.shape[1] == 2 and can.code_decoder:
        p = fig_dir / "manifold.png"
        grid = _code_grid(model.prior, prior_samples)
        gaussian = single_gaussian(model.prior) is not None
        plots.code_grid_figure(
            p,
            model.decode(grid.to(dev)).cpu().numpy(),
            grid.numpy(),
            20,
            shape,
            title=title("decoder(z) over a 20 × 20 grid of codes z"),
            note="Gaussian percentiles 2.5 % … 97.5 %" if gaussian else "1st to 99th percentile of prior samples",
        )
        paths.append(p)
    return paths


def _code_grid(prior, prior_samples: np.ndarray) -> torch.Tensor:
    """20 x 20 2-D codes: Gaussian percentiles for a prior that declares one Gaussian component
    (:func:`~aae.priors.single_gaussian`), else a box over the prior's samples."""
    single = single_gaussian(prior)
    if single is not None:
        mean, var = single
        return plots.gaussian_grid(20, var.sqrt().tolist(), mean.tolist())
    lo, hi = np.percentile(prior_samples, [1, 99], axis=0)
    return plots.box_grid(20, lo, hi)
