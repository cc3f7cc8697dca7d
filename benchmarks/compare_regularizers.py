"""AAE vs WAE-MMD vs VAE on MNIST: same networks, prior, data and budget; only the latent regularizer differs.

    python benchmarks/compare_regularizers.py --data-dir ../shared/data [--epochs 20] [--code-dim 2]
        [--parzen-samples 10000] [--runs runs/compare] [--results results/compare_regularizers] [--set KEY=VALUE ...]

Trains the presets ``mnist-gaussian-2d`` (adversarial), ``mnist-wae-mmd-2d`` (MMD penalty)
and ``mnist-vae-2d`` (KL penalty, Bernoulli likelihood) with ``aae train`` (a run whose
summary.json already holds a Parzen result is reused; ``--force`` retrains), then
``aae eval --parzen`` on each, and writes ``<results>/compare_regularizers.{md,json,png}``:

- test reconstruction MSE (per pixel, posterior-mean codes),
- MMD² between the 10,000 test codes and as many prior samples (``prior_mmd``),
- Parzen-window log-likelihood of the test split under ``--parzen-samples`` decoded prior
  samples, σ chosen on the validation split (paper Table 1's protocol). By default on the
  2-D runs (the presets as they are); ``--code-dim 8`` gives the 8-D variant closer to the
  paper's Table 1 (same Gaussian prior, std 1),
- training wall time,
- the PNG: test codes of the three models side by side, coloured by digit, over prior samples.

``--subset N`` trains on the first N MNIST training images (a smoke test, not a result):
it writes a small ``.npz`` holding them followed by N/9 test images, which become its test split.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from core_results import machine  # noqa: E402

from aae.data import load_idx_dataset  # noqa: E402
from aae.errors import AAEError  # noqa: E402
from aae.runs import encode_split, load_run, run_splits  # noqa: E402

RUNS = [
    # (run name, preset, what regularizes the codes)
    ("aae", "mnist-gaussian-2d", "adversarial (discriminator)"),
    ("wae-mmd", "mnist-wae-mmd-2d", "MMD penalty, λ=10, IMQ kernel"),
    ("vae", "mnist-vae-2d", "KL penalty (Gaussian encoder, BCE)"),
]


def subset_npz(data_dir: str | None, n: int, path: Path) -> Path:
    """First ``n`` MNIST training images followed by ``n // 9`` test images (the npz reader's last 10 %)."""
    x_tr, y_tr = load_idx_dataset("mnist", "train", data_dir)
    x_te, y_te = load_idx_dataset("mnist", "test", data_dir)
    m = max(n // 9, 2)
    path.parent.mkdir(parents=True, exist_ok=True)
    x = np.concatenate([x_tr[:n].numpy(), x_te[:m].numpy()]).reshape(-1, 28, 28)  # images keep their figures
    np.savez(path, x=x, y=np.concatenate([y_tr[:n].numpy(), y_te[:m].numpy()]))
    return path


def aae(*args: str) -> None:
    cmd = [sys.executable, "-m", "aae", *args]
    print(" ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def prior_contours(ax, prior, samples: np.ndarray, xlim: tuple[float, float], ylim: tuple[float, float]) -> None:
    """Lines around the regions of highest prior density that hold 50, 90 and 99 % of its mass,
    drawn over the codes so that the prior shows wherever the codes cover it. Where ``prior`` has
    a density (``log_prob``) the lines are its exact level sets, each level the density that the
    given share of ``samples`` exceeds; otherwise a smoothed 2-D histogram of ``samples``."""
    xs, ys = np.linspace(*xlim, 200), np.linspace(*ylim, 200)
    gx, gy = np.meshgrid(xs, ys)
    try:
        grid = torch.tensor(np.stack([gx.ravel(), gy.ravel()], 1), dtype=torch.float32)
        density = prior.log_prob(grid).exp().numpy().reshape(gx.shape)
        at_samples = prior.log_prob(torch.tensor(samples[:, :2], dtype=torch.float32)).exp().numpy()
        levels = sorted({float(np.quantile(at_samples, 1 - q)) for q in (0.99, 0.9, 0.5)})
        ax.contour(xs, ys, density, levels=levels, colors="k", linewidths=0.8)
        return
    except AAEError:  # no closed-form density: the samples' histogram
        pass
    from scipy.ndimage import gaussian_filter

    h, xe, ye = np.histogram2d(samples[:, 0], samples[:, 1], bins=80, range=[xlim, ylim])
    h = gaussian_filter(h, 1.5)
    flat = np.sort(h.ravel())[::-1]
    mass = np.cumsum(flat) / flat.sum()
    levels = sorted({float(flat[np.searchsorted(mass, q)]) for q in (0.99, 0.9, 0.5)})
    xc, yc = (xe[:-1] + xe[1:]) / 2, (ye[:-1] + ye[1:]) / 2
    ax.contour(xc, yc, h.T, levels=levels, colors="k", linewidths=0.8)


def latent_panels(path: Path, panels: list[tuple[str, np.ndarray, np.ndarray, np.ndarray, object]]) -> None:
    """One row of scatter plots: (title, codes, labels, prior samples, the prior) per panel, first
    two dimensions."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # one scale for all panels (the 99.8 % of every point nearest the middle), so that the spread
    # of each model's codes compares at a glance; the prior's samples in a grey that shows through
    every = np.concatenate([np.concatenate([c[:, :2], q[:, :2]]) for _, c, _, q, _ in panels])
    lo, hi = np.percentile(every, [0.1, 99.9], axis=0)
    half = 1.05 * float(np.max(hi - lo)) / 2
    mid = (lo + hi) / 2
    fig, axes = plt.subplots(
        1, len(panels), figsize=(5 * len(panels) + 1, 5), squeeze=False, layout="constrained", sharex=True, sharey=True
    )
    for ax, (title, codes, labels, samples, prior) in zip(axes[0], panels):
        ax.scatter(samples[:, 0], samples[:, 1], s=3, c="0.6", alpha=0.35, linewidths=0, rasterized=True)
        sc = ax.scatter(codes[:, 0], codes[:, 1], s=1.5, c=labels, cmap="tab10", vmin=-0.5, vmax=9.5, rasterized=True)
        prior_contours(ax, prior, samples, (mid[0] - half, mid[0] + half), (mid[1] - half, mid[1] + half))
        ax.set_title(title)
        ax.set_xlim(mid[0] - half, mid[0] + half)
        ax.set_ylim(mid[1] - half, mid[1] + half)
        ax.set_aspect("equal")
        ax.set_xlabel("z[0]")
    axes[0][0].plot([], [], color="k", linewidth=0.8, label="prior: 50 / 90 / 99 % of its mass")
    axes[0][0].legend(loc="upper left", frameon=False, fontsize=9)
    axes[0][0].set_ylabel("z[1]")
    fig.colorbar(sc, ax=list(axes[0]), ticks=range(10), label="digit", shrink=0.8)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--code-dim", type=int, default=2, help="code size of all three models (2: the presets)")
    ap.add_argument("--parzen-samples", type=int, default=10000)
    ap.add_argument("--runs", type=Path, default=Path("runs/compare"))
    ap.add_argument("--results", type=Path, default=Path("results/compare_regularizers"))
    ap.add_argument("--subset", type=int, default=0, help="train on the first N training images (smoke test)")
    ap.add_argument("--set", dest="overrides", action="append", default=[], help="--set for all three runs")
    ap.add_argument("--force", action="store_true", help="retrain runs that already have results")
    args = ap.parse_args()

    sets = list(args.overrides)
    if args.code_dim != 2:
        sets.append(f"network.code_dim={args.code_dim}")
    if args.subset:
        npz = subset_npz(args.data_dir, args.subset, args.runs / f"mnist-first-{args.subset}.npz")
        sets += [f'data.dataset="{npz.resolve()}"', f"data.validation={max(args.subset // 10, 1)}"]
        sets += ['data.split="file-order"']  # its last tenth is the test images it appended
    data_arg = ["--data-dir", args.data_dir] if args.data_dir else []

    rows, panels = [], []
    for name, preset, how in RUNS:
        out = args.runs / name
        summary_file = out / "summary.json"
        done = summary_file.is_file() and "parzen_ll" in json.loads(summary_file.read_text())
        eval_seconds = None
        if args.force or not done:
            train = ["train", preset, "--out", str(out), "--epochs", str(args.epochs), "--overwrite", "--quiet"]
            aae(*train, *data_arg, *[a for s in sets for a in ("--set", s)])
            t0 = time.perf_counter()
            aae("eval", str(out), "--parzen", "--n-samples", str(args.parzen_samples), *data_arg)
            eval_seconds = time.perf_counter() - t0
        summary = json.loads(summary_file.read_text())
        rows.append({"run": name, "preset": preset, "regularizer": how, "eval_seconds": eval_seconds, **summary})

        run = load_run(out)
        splits = run_splits(run, args.data_dir)
        codes = encode_split(run, splits.x_test).numpy()
        prior = run.model.prior.sample(5000, torch.Generator().manual_seed(0)).numpy()
        panels.append((f"{name} ({preset})", codes, splits.y_test.numpy(), prior, run.model.prior))

    args.results.mkdir(parents=True, exist_ok=True)
    stem = args.results / "compare_regularizers"
    info = {
        "machine": machine(),
        "epochs": args.epochs,
        "code_dim": args.code_dim,
        "subset": args.subset or None,
        "parzen_samples": args.parzen_samples,
        "overrides": sets,
        "rows": rows,
    }
    (stem.with_suffix(".json")).write_text(json.dumps(info, indent=2) + "\n")
    latent_panels(stem.with_suffix(".png"), panels)
    cmd = f"python benchmarks/compare_regularizers.py --epochs {args.epochs} --code-dim {args.code_dim}"
    if args.subset:
        cmd += f" --subset {args.subset}"
    lines = [
        f"Machine: {machine()}. Command: `{cmd}`"
        + (" (a smoke test on a subset, not a result)." if args.subset else "."),
        f"Parzen: {args.parzen_samples} decoded prior samples, σ chosen on the validation split, "
        f"{args.code_dim}-D codes.",
        "",
        "| run | regularizer | epochs | test recon MSE | MMD(test codes, prior) | Parzen LL (nats) | σ | train time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['run']} | {r['regularizer']} | {r['epochs']} | {r['recon_mse']:.4f} | {r['prior_mmd']:.4f} "
            f"| {r['parzen_ll']:.1f} ± {r['parzen_sem']:.1f} | {r['parzen_sigma']:.3f} "
            f"| {r['train_seconds'] / 60:.1f} min |"
        )
    lines += ["", f"![latent codes]({stem.with_suffix('.png').name})"]
    (stem.with_suffix(".md")).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
