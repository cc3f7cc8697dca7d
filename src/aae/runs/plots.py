"""Figures of a run (PNG, matplotlib's Agg backend): latent scatter, manifold, samples, reconstructions.

Every figure stands on its own: a title naming the run and its model kind, axes or row and
column labels, a legend where points differ; image grids are magnified to at least 560 px.
"""

from __future__ import annotations

from collections.abc import Sequence
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


def run_label(run_name: str, config_name: str, model: str) -> str:
    """How every figure names its run: ``run g2d (mnist-gaussian-2d), model aae``.

    The config's name is left out when the run directory's name already starts with it.
    """
    label = f"run {run_name}"
    if config_name and not run_name.startswith(config_name):
        label += f" ({config_name})"
    return f"{label}, model {model}"


def _grid_scale(height: int, width: int) -> int:
    """Whole-pixel magnification of a tiled grid: at least 560 px on its short side, at most ~1800 on its long one."""
    scale = max(1, -(-MIN_GRID_PX // min(height, width)))
    return max(1, min(scale, MAX_GRID_PX // max(height, width)))


MIN_GRID_PX, MAX_GRID_PX, DPI = 560, 1800, 100


def save_image_grid(
    path: Path,
    images: np.ndarray,
    rows: int,
    cols: int,
    shape: tuple[int, ...],
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    row_labels: list[str] | None = None,
    col_labels: list[str] | None = None,
    row_groups: int = 0,
    col_labels_top: bool = True,
    col_groups: tuple[int, ...] = (),
) -> None:
    """Draw a grid of images with values in [0, 1] (grey: white on black; or RGB) as a titled PNG.

    The grid is magnified by a whole number of pixels (at least 560 px on its short side) and
    drawn with matplotlib, so that ``title``, axis labels and per-row / per-column labels
    (``row_labels``, ``col_labels``: one per row / column, ``""`` for none) sit beside it.
    ``row_groups`` > 0 draws a line after every ``row_groups`` rows, ``col_groups`` one after each
    of those columns (e.g. ``(1,)`` sets the first column apart); ``col_labels_top=False`` puts
    the column labels below the grid, beside ``xlabel``.
    """
    grid = np.clip(image_grid(images, rows, cols, shape), 0, 1)
    gh, gw = grid.shape[:2]
    th, tw = gh // rows, gw // cols
    scale = _grid_scale(gh, gw)
    w_in, h_in = gw * scale / DPI, gh * scale / DPI
    left, right, top, bottom = 1.3, 0.2, 0.9, 0.7  # inches around the image, for the labels
    fig = plt.figure(figsize=(w_in + left + right, h_in + top + bottom), dpi=DPI)
    W, H = fig.get_size_inches()
    ax = fig.add_axes((left / W, bottom / H, w_in / W, h_in / H))
    extent = (-0.5, gw - 0.5, gh - 0.5, -0.5)
    if grid.ndim == 3:
        ax.imshow(grid, interpolation="nearest", extent=extent)
    else:
        ax.imshow(grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest", extent=extent)
    if row_labels is not None:
        size = _label_size(row_labels[:rows], th * scale, across=False)
        ax.set_yticks([(r + 0.5) * th - 0.5 for r in range(rows)], row_labels[:rows], fontsize=size)
    else:
        ax.set_yticks([])
    if col_labels is not None:
        size = _label_size(col_labels[:cols], tw * scale, across=True)
        ax.set_xticks([(c + 0.5) * tw - 0.5 for c in range(cols)], col_labels[:cols], fontsize=size)
        if col_labels_top:
            ax.xaxis.tick_top()
    else:
        ax.set_xticks([])
    ax.tick_params(length=0)
    for r in range(row_groups, rows, row_groups or rows + 1):
        ax.axhline(r * th - 0.5, color="tab:orange", linewidth=1.5)
    for c in col_groups:
        ax.axvline(c * tw - 0.5, color="tab:orange", linewidth=3)
    ax.set_xlabel(xlabel, fontsize=11)
    ax.set_ylabel(ylabel, fontsize=11)
    ax.set_title(title, fontsize=12, pad=8 + (14 if col_labels is not None and col_labels_top else 0))
    fig.savefig(path, dpi=DPI, bbox_inches="tight", pad_inches=0.15)
    plt.close(fig)


def _label_size(labels: list[str], tile_px: int, across: bool) -> float:
    """A font size (points) at which tick labels ``tile_px`` apart do not run into each other."""
    shown = [i for i, t in enumerate(labels) if t]
    if len(shown) < 2:
        return 10
    room = min(b - a for a, b in zip(shown, shown[1:])) * tile_px  # pixels between neighbouring labels
    if across:  # side by side: a label's width must fit
        room /= 0.62 * max(len(labels[i]) for i in shown)
    return float(max(6, min(12, room * 72 / DPI / 1.3)))


def code_grid_figure(
    path: Path, images: np.ndarray, codes: np.ndarray, n: int, shape: tuple[int, ...], title: str, note: str = ""
) -> None:
    """The decoded ``n`` x ``n`` grid of 2-D ``codes`` (row-major, z[1] falling down the rows, as
    :func:`gaussian_grid` and :func:`box_grid` make them), with z[0] and z[1] on the axes."""
    xs, ys = codes[:n, 0], codes[::n, 1]
    marked = {0, n // 4, n - 1 - n // 4, n - 1}  # symmetric: the outer and the quartile rows and columns
    cols = [f"{v:.3g}" if i in marked else "" for i, v in enumerate(xs)]
    rows = [f"{v:.3g}" if i in marked else "" for i, v in enumerate(ys)]
    save_image_grid(
        path,
        images,
        n,
        n,
        shape,
        title=title,
        xlabel="z[0]" + (f"   ({note})" if note else ""),
        ylabel="z[1]",
        row_labels=rows,
        col_labels=cols,
        col_labels_top=False,
    )


def latent_scatter(
    path: Path,
    codes: np.ndarray,
    labels: np.ndarray | None,
    title: str = "",
    prior_samples: np.ndarray | None = None,
    marks: np.ndarray | None = None,
    codes_label: str = "test codes",
    prior_label: str = "samples of the prior p(z)",
    axis_names: tuple[str, str] = ("z[0]", "z[1]"),
) -> None:
    """Scatter of the first two code dimensions, coloured by label (paper Fig. 2a/2b/4).

    ``prior_samples`` ``(m, 2)`` are drawn in grey beneath; ``marks`` ``(k, 2)`` (cluster heads) as
    black crosses. A legend under the plot names each kind of point; a colour bar the labels.
    """
    from matplotlib.legend_handler import HandlerTuple
    from matplotlib.lines import Line2D

    fig, ax = plt.subplots(figsize=(7.5, 7), layout="constrained")
    dot = {"marker": "o", "linestyle": "", "markersize": 6}
    handles: list = []
    names: list[str] = []
    if prior_samples is not None:
        ax.scatter(prior_samples[:, 0], prior_samples[:, 1], s=1, c="darkgray", alpha=0.5, rasterized=True)
        handles.append(Line2D([], [], color="darkgray", **dot))
        names.append(prior_label)
    if labels is None or (labels < 0).all():
        ax.scatter(codes[:, 0], codes[:, 1], s=1, c="k", alpha=0.5, rasterized=True)
        handles.append(Line2D([], [], color="k", **dot))
        names.append(codes_label)
    else:
        sc = ax.scatter(codes[:, 0], codes[:, 1], s=1.5, c=labels, cmap="tab10", vmin=-0.5, vmax=9.5, rasterized=True)
        fig.colorbar(sc, ax=ax, ticks=range(10), label="label", shrink=0.8)
        # a few of the label colours side by side: the colour bar says which label each is
        handles.append(tuple(Line2D([], [], color=plt.get_cmap("tab10")(c), **dot) for c in (0, 1, 2)))
        names.append(f"{codes_label}, coloured by label")
    if marks is not None:
        ax.scatter(marks[:, 0], marks[:, 1], s=60, c="k", marker="x", linewidths=2)
        handles.append(Line2D([], [], color="k", marker="x", linestyle="", markersize=8, mew=2))
        names.append("cluster heads")
    ax.set_xlabel(axis_names[0])
    ax.set_ylabel(axis_names[1])
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_title(title, fontsize=11)
    fig.legend(
        handles,
        names,
        loc="outside lower center",
        ncol=len(handles),
        fontsize=9,
        frameon=False,
        handler_map={tuple: HandlerTuple(ndivide=None, pad=0)},
    )
    fig.savefig(path, dpi=120)
    plt.close(fig)


def gaussian_grid(n: int, std: float | Sequence[float] = 1.0, mean: float | Sequence[float] = 0.0) -> torch.Tensor:
    """``(n*n, 2)`` codes at evenly spaced Gaussian percentiles (paper Fig. 2e); row i varies z[1].
    ``std`` and ``mean``: one number for both axes, or one per axis."""
    p = (torch.arange(n, dtype=torch.float64) + 0.5) / n
    std, mean = (torch.as_tensor(v, dtype=torch.float64).expand(2) for v in (std, mean))
    u = torch.special.ndtri(p)
    qx, qy = ((u * std[i] + mean[i]).float() for i in range(2))
    zy, zx = torch.meshgrid(qy.flip(0), qx, indexing="ij")
    return torch.stack([zx.reshape(-1), zy.reshape(-1)], 1)


def box_grid(n: int, low: np.ndarray, high: np.ndarray) -> torch.Tensor:
    """``(n*n, 2)`` codes on an even grid over the box ``[low, high]``."""
    xs = torch.linspace(float(low[0]), float(high[0]), n)
    ys = torch.linspace(float(high[1]), float(low[1]), n)
    zy, zx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([zx.reshape(-1), zy.reshape(-1)], 1)


def cluster_rows(
    path: Path,
    heads: np.ndarray,
    images: np.ndarray,
    assigned: np.ndarray,
    shape: tuple[int, ...],
    per_row: int = 15,
    title: str = "",
    unit: str = "cluster",
) -> None:
    """One row per cluster (paper Fig. 9): its head, a line, then up to ``per_row`` images assigned to it.

    ``heads`` ``(K, d)``, ``images`` ``(n, d)``, ``assigned`` ``(n,)`` cluster of each image;
    ``unit`` names a row (``cluster`` or ``class``).
    """
    k, cols = len(heads), per_row + 1
    rows = []
    for c in range(k):
        members = images[assigned == c][:per_row]
        fill = np.ones((per_row - len(members), heads.shape[1]), dtype=heads.dtype)
        rows += [heads[c : c + 1], members.astype(heads.dtype), fill]
    counts = np.bincount(assigned, minlength=k)[:k]
    save_image_grid(
        path,
        np.concatenate(rows),
        k,
        cols,
        shape,
        title=title,
        xlabel=f"column 1: the {unit}'s head (decoded with style z = 0); then test images assigned to it",
        ylabel=f"{unit} (test images assigned)",
        row_labels=[f"{c} ({n})" for c, n in enumerate(counts)],
        col_labels=["head"] + [str(i + 1) if i in (0, per_row - 1) else "" for i in range(per_row)],
        col_groups=(1,),
    )
