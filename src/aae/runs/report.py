"""``aae report RUN``: one self-contained HTML page per run, viewable offline.

The page holds the test metrics (``summary.json``), the per-epoch training metrics
(``metrics.jsonl``, as full-width curves, one panel per metric, and as a table), every
figure in ``figures/`` and the resolved config (folded). Images are embedded as base64 PNG
and the style is inline: the file needs nothing else, so it can be mailed or archived on
its own.
"""

from __future__ import annotations

import base64
import html
import io
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aae.checkpoints import atomic_write_bytes
from aae.errors import AAEError
from aae.models import model_class
from aae.runs.files import read_config

#: what each figure of ``figures/`` shows (others are shown under their file name)
FIGURE_CAPTIONS = {
    "latent.png": "Test codes coloured by label, over prior samples (grey)",
    "manifold.png": "Decoded grid of codes (Gaussian percentiles for a Gaussian prior)",
    "samples.png": "Decoded prior samples",
    "reconstructions.png": "Test images (odd rows) and their reconstructions (even rows)",
    "styles.png": "One style z per row, one class per column (style and content)",
    "clusters.png": "Each cluster's or class's head, then test images assigned to it",
    "representation.png": "The learned representation of the test images, with the cluster heads",
}

#: what each training metric of ``metrics.jsonl`` is (the curves' panel titles)
METRIC_LABELS = {
    "recon_loss": "reconstruction loss",
    "disc_loss": "discriminator loss",
    "disc_acc": "discriminator accuracy",
    "gen_loss": "encoder's adversarial (generator) loss",
    "loss": "total loss",
    "mmd": "MMD penalty",
    "kl": "KL penalty",
    "classify_loss": "classification loss (labeled mini-batch)",
    "classify_acc": "classification accuracy (labeled mini-batch)",
    "vat_loss": "virtual adversarial training loss",
    "entropy": "entropy of q(y|x)",
    "labeled_recon_loss": "reconstruction loss (labeled mini-batch)",
    "head_penalty": "cluster-head distance penalty",
    "val_error": "validation error (%)",
}

#: what each summary key means, with its unit
SUMMARY_LABELS = {
    "recon_mse": "test reconstruction MSE (per pixel)",
    "prior_mmd": "MMD² between test codes and prior samples (mean over blocks of 1,000)",
    "prior_mmd_se": "standard error of that MMD² over its blocks",
    "label_match": "test codes in their label's component (fraction)",
    "test_error": "test classification error (%)",
    "val_error": "validation classification error (%)",
    "test_error_majority": "test error (%), each cluster named by its validation images' majority label",
    "test_confusion": "test confusion matrix: counts, row = true class, column = predicted",
    "parzen_ll": "Parzen log-likelihood of the test split (nats)",
    "parzen_sem": "standard error of the Parzen log-likelihood (nats)",
    "parzen_sigma": "Parzen window width σ (chosen on the validation split)",
    "parzen_val_ll": "Parzen log-likelihood of the validation split at that σ (nats)",
    "train_seconds": "training time (s)",
    "epochs": "epochs",
    "samples_per_second": "training throughput (samples/s)",
}

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.9em; }
td, th { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; }
th { background: #f4f4f4; } td.key { text-align: left; }
figure { margin: 0; }
figure img { width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.9em; color: #555; margin-top: 0.3em; }
figure.wide { margin: 1em 0; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(30em, 1fr)); gap: 1.5em; }
pre { background: #f8f8f8; padding: 1em; overflow-x: auto; font-size: 0.85em; }
.scroll { max-height: 30em; max-width: 100%; overflow: auto; display: inline-block; }
details { margin: 1em 0; } summary { cursor: pointer; }
"""


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise AAEError(f"{path}: not valid JSON ({e})") from e


def read_history(path: Path) -> list[dict[str, Any]]:
    """The per-epoch dicts of ``metrics.jsonl`` (empty if the file is missing)."""
    if not path.is_file():
        return []
    rows = []
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise AAEError(f"{path}, line {i}: not valid JSON ({e})") from e
    return rows


def curves_png(history: list[dict[str, Any]], metrics: Sequence[str], title: str = "") -> bytes | None:
    """PNG of each of ``metrics`` (the model's declared training metrics, and ``val_error``) against
    the epoch, one full-width panel per metric, under ``title``; None without history."""
    keys = [k for k in [*metrics, "val_error"] if history and k in history[0]]
    if not keys:
        return None
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    from aae.runs import plots  # noqa: F401  (selects the Agg backend)

    fig, axes = plt.subplots(
        len(keys), 1, figsize=(11, 0.8 + 2.0 * len(keys)), sharex=True, squeeze=False, layout="constrained"
    )
    epochs = [m.get("epoch", i + 1) for i, m in enumerate(history)]
    for ax, k in zip(axes[:, 0], keys):
        ax.plot(epochs, [m.get(k, float("nan")) for m in history], marker="o", ms=4, label="model")
        if k == "val_error" and "ema_val_error" in history[0]:
            ax.plot(epochs, [m.get("ema_val_error", float("nan")) for m in history], marker="s", ms=3, label="EMA")
            ax.legend(fontsize=11)
        ax.set_title(f"{k}: {METRIC_LABELS[k]}" if k in METRIC_LABELS else k, fontsize=13, loc="left")
        ax.set_ylabel(k, fontsize=12)
        ax.tick_params(labelsize=11)
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[-1, 0].set_xlabel("epoch", fontsize=12)
    fig.suptitle(title or "training curves", fontsize=14)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


def _confusion_table(counts: list[list[int]]) -> str:
    """A confusion matrix (row: true class, column: predicted) as HTML, the diagonal in bold."""
    head = "".join(f"<th>{j}</th>" for j in range(len(counts[0])))
    rows = "".join(
        f"<tr><th>{i}</th>"
        + "".join(f"<td>{f'<b>{n}</b>' if i == j else n}</td>" for j, n in enumerate(row))
        + f"<td>{100 * (1 - row[i] / max(sum(row), 1)):.1f}</td></tr>"
        for i, row in enumerate(counts)
    )
    return (
        "<p>Test split: rows are the true classes, columns the predicted ones; the last column is "
        "each class's error (%).</p>"
        f'<div class="scroll"><table><tr><th>true \\ predicted</th>{head}<th>error %</th></tr>{rows}</table></div>'
    )


def _summary_table(summary: dict[str, Any]) -> str:
    rows = []
    for k, v in summary.items():
        if isinstance(v, list):  # matrices have their own table
            continue
        label = SUMMARY_LABELS.get(k, "")
        if not label and k.startswith("ema_") and k[4:] in SUMMARY_LABELS:
            label = SUMMARY_LABELS[k[4:]] + ", averaged (EMA) weights"
        rows.append(
            f'<tr><td class="key"><code>{html.escape(k)}</code></td><td class="key">{html.escape(label)}</td>'
            f"<td>{html.escape(_fmt(v))}</td></tr>"
        )
    return "<table><tr><th>key</th><th>meaning</th><th>value</th></tr>" + "".join(rows) + "</table>"


def _history_table(history: list[dict[str, Any]]) -> str:
    keys = ["epoch", "step"]
    for m in history:
        keys += [k for k in m if k not in keys]
    head = "".join(f"<th>{html.escape(k)}</th>" for k in keys)
    cells = ("".join(f"<td>{html.escape(_fmt(m.get(k, '')))}</td>" for k in keys) for m in history)
    body = "".join(f"<tr>{c}</tr>" for c in cells)
    return f'<div class="scroll"><table><tr>{head}</tr>{body}</table></div>'


def build_report(run: str | Path) -> str:
    """The HTML page of run directory ``run`` (a string; nothing written)."""
    run = Path(run)
    if not run.is_dir():
        raise AAEError(f"run directory {run} does not exist")
    if not (run / "config.json").is_file():
        raise AAEError(f"{run} holds no config.json: not a run directory")
    cfg = _read_json(run / "config.json")
    config = read_config(run / "config.json")
    metrics = model_class(config.model).metrics
    summary = _read_json(run / "summary.json") if (run / "summary.json").is_file() else {}
    history = read_history(run / "metrics.jsonl")
    name = cfg.get("name", run.name) if isinstance(cfg, dict) else run.name
    from aae.runs.plots import run_label

    label = run_label(run.resolve().name, str(name), config.model)
    epochs = f"{history[-1].get('epoch', len(history))} of {config.epochs}" if history else f"0 of {config.epochs}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>aae {html.escape(label)}</title><style>{STYLE}</style></head><body>",
        f"<h1>aae run <code>{html.escape(run.resolve().name)}</code></h1>",
        f"<p>Config <code>{html.escape(str(name))}</code>, model <code>{html.escape(config.model)}</code>, "
        f"data <code>{html.escape(config.data.dataset)}</code>, epochs {html.escape(epochs)}, "
        f"seed {config.seed}.<br>Run directory <code>{html.escape(str(run.resolve()))}</code>; "
        f"report written {html.escape(time.strftime('%Y-%m-%d %H:%M:%S'))}.</p>",
        "<h2>Test metrics</h2>",
        _summary_table(summary) if summary else "<p>No summary.json: the run has not finished.</p>",
    ]
    if summary.get("test_confusion"):
        parts += ["<h2>Confusion matrix</h2>", _confusion_table(summary["test_confusion"])]
    parts += [
        "<h2>Training, per epoch</h2>",
    ]
    if history:
        png = curves_png(history, list(metrics), f"{label}: training curves (means over each epoch)")
        if png is not None:
            parts.append(
                f'<figure class="wide">{_img(png, "training curves")}<figcaption>Training curves: each '
                "metric's mean over the mini-batches of an epoch (validation error: after the epoch)"
                "</figcaption></figure>"
            )
        parts.append(_history_table(history))
    else:
        parts.append("<p>No metrics.jsonl.</p>")
    parts.append("<h2>Figures</h2>")
    figures = sorted((run / "figures").glob("*.png")) if (run / "figures").is_dir() else []
    if figures:
        parts.append('<div class="figures">')
    for f in figures:
        caption = FIGURE_CAPTIONS.get(f.name, f.stem)
        parts.append(
            f"<figure>{_img(f.read_bytes(), f.name)}<figcaption><code>{html.escape(f.name)}</code>: "
            f"{html.escape(caption)}</figcaption></figure>"
        )
    if figures:
        parts.append("</div>")
    else:
        parts.append("<p>No figures (draw them with <code>aae plot RUN</code>).</p>")
    parts += [
        "<h2>Config</h2>",
        "<details><summary>The resolved config (<code>config.json</code>)</summary>",
        f"<pre>{html.escape(json.dumps(cfg, indent=2), quote=False)}</pre></details>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def write_report(run: str | Path, out: str | Path | None = None) -> Path:
    """Write the page of ``run`` to ``out`` (default ``<run>/report.html``) atomically; returns the path."""
    out = Path(out) if out is not None else Path(run) / "report.html"
    page = build_report(run)
    atomic_write_bytes(out, page.encode("utf-8"))
    return out
