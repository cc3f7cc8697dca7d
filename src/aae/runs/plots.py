"""Figures of a run (PNG, matplotlib's Agg backend): latent scatter, manifold, samples, reconstructions."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402


def image_grid(images: np.ndarray, rows: int, cols: int, shape: tuple[int, ...]) -> np.ndarray:
    """Tile ``rows*cols`` flattened images into one array.

    ``shape`` is ``(h, w)`` for grey images ``(n, h*w)``, giving ``(rows*h, cols*w)``, or
    ``(c, h, w)`` for channel-major colour images ``(n, c*h*w)``, giving ``(rows*h, cols*w, c)``.
    """
    if len(shape) == 3 and shape[0] == 1:
        shape = shape[1:]
    h, w = shape[-2:]
    depth = (shape[0],) if len(shape) == 3 else ()
    grid = np.ones((rows * h, cols * w, *depth), dtype=np.float32)
    for i, img in enumerate(images[: rows * cols]):
        r, c = divmod(i, cols)
        tile = img.reshape(shape)
        grid[r * h : (r + 1) * h, c * w : (c + 1) * w] = tile.transpose(1, 2, 0) if depth else tile
    return grid


def interleave_rows(a: np.ndarray, b: np.ndarray, cols: int) -> np.ndarray:
    """Rows of ``cols`` images alternating between ``a`` and ``b`` (originals over reconstructions)."""
    out = []
    for i in range(0, len(a), cols):
        out += [a[i : i + cols], np.ones_like(a[: cols - len(a[i : i + cols])]), b[i : i + cols]]
        out.append(np.ones_like(a[: cols - len(b[i : i + cols])]))
    return np.concatenate(out)


def save_image_grid(path: Path, images: np.ndarray, rows: int, cols: int, shape: tuple[int, ...]) -> None:
    """Write a grid of images with values in [0, 1] as a PNG (grey: white digits on black; or RGB)."""
    grid = np.clip(image_grid(images, rows, cols, shape), 0, 1)
    if grid.ndim == 3:
        plt.imsave(path, grid)
    else:
        plt.imsave(path, grid, cmap="gray", vmin=0, vmax=1)


def latent_scatter(
    path: Path,
    codes: np.ndarray,
    labels: np.ndarray | None,
    title: str = "",
    prior_samples: np.ndarray | None = None,
    marks: np.ndarray | None = None,
) -> None:
    """Scatter of the first two code dimensions, coloured by label (paper Fig. 2a/2b/4).

    ``prior_samples`` ``(m, 2)`` are drawn in grey beneath; ``marks`` ``(k, 2)`` (cluster heads) as black crosses.
    """
    fig, ax = plt.subplots(figsize=(6.5, 6))
    if prior_samples is not None:
        ax.scatter(
            prior_samples[:, 0], prior_samples[:, 1], s=1, c="lightgray", alpha=0.5, label="prior", rasterized=True
        )
    if labels is None or (labels < 0).all():
        ax.scatter(codes[:, 0], codes[:, 1], s=1, c="k", alpha=0.5, rasterized=True)
    else:
        sc = ax.scatter(codes[:, 0], codes[:, 1], s=1.5, c=labels, cmap="tab10", vmin=-0.5, vmax=9.5, rasterized=True)
        fig.colorbar(sc, ax=ax, ticks=range(10), label="label")
    if marks is not None:
        ax.scatter(marks[:, 0], marks[:, 1], s=60, c="k", marker="x", linewidths=2, label="cluster heads")
    ax.set_xlabel("z[0]")
    ax.set_ylabel("z[1]")
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def gaussian_grid(n: int, std: float = 1.0, mean: float = 0.0) -> torch.Tensor:
    """``(n*n, 2)`` codes at evenly spaced Gaussian percentiles (paper Fig. 2e); row i varies z[1]."""
    p = (torch.arange(n, dtype=torch.float64) + 0.5) / n
    q = torch.special.ndtri(p).float() * std + mean
    zy, zx = torch.meshgrid(q.flip(0), q, indexing="ij")
    return torch.stack([zx.reshape(-1), zy.reshape(-1)], 1)


def box_grid(n: int, low: np.ndarray, high: np.ndarray) -> torch.Tensor:
    """``(n*n, 2)`` codes on an even grid over the box ``[low, high]``."""
    xs = torch.linspace(float(low[0]), float(high[0]), n)
    ys = torch.linspace(float(high[1]), float(low[1]), n)
    zy, zx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([zx.reshape(-1), zy.reshape(-1)], 1)


def cluster_rows(
    path: Path, heads: np.ndarray, images: np.ndarray, assigned: np.ndarray, shape: tuple[int, int], per_row: int = 15
) -> None:
    """One row per cluster (paper Fig. 9): its head, a blank, then up to ``per_row`` images assigned to it.

    ``heads`` ``(K, d)``, ``images`` ``(n, d)``, ``assigned`` ``(n,)`` cluster of each image.
    """
    k, cols = len(heads), per_row + 2
    blank = np.ones_like(heads[:1])
    rows = []
    for c in range(k):
        members = images[assigned == c][:per_row]
        fill = np.ones((per_row - len(members), heads.shape[1]), dtype=heads.dtype)
        rows += [heads[c : c + 1], blank, members.astype(heads.dtype), fill]
    save_image_grid(path, np.concatenate(rows), k, cols, shape)
