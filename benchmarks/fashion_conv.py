"""MLP vs convolutional networks on Fashion-MNIST, same presets, same budget.

    OMP_NUM_THREADS=1 python benchmarks/fashion_conv.py --data-dir ../shared/data --epochs 5 [--threads 1]
        [--results results/fashion_conv]

Trains, with ``--set data.dataset=fashion-mnist``:

- (a) the unsupervised AAE of ``mnist-gaussian-8d`` (8-D code, Gaussian prior with std 5):
  test reconstruction MSE (per pixel) and MMD to the prior;
- (b) the semi-supervised network of ``mnist-semisupervised-1000`` (1000 labels, 100 per
  class, drawn by seed): test error;

each with the preset's MLPs (``mlp``), ``network.arch=conv`` (``conv``) and conv with
``network.batchnorm=true`` (``conv-bn``); everything else (optimizers, prior, budget) as the preset.

Every run gets the same ``--epochs``; runs whose ``summary.json`` exists are not trained again,
so an interrupted comparison picks up where it stopped. Writes ``results/fashion_conv/fashion_conv.md`` and
``.json`` with the exact commands, train times, parameter counts and the machine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from core_results import machine

#: (task, preset, metric reported, what it means)
TASKS = [
    ("unsupervised", "mnist-gaussian-8d", "recon_mse", "test reconstruction MSE per pixel"),
    ("semi-supervised", "mnist-semisupervised-1000", "test_error", "test error (%), 1000 labels"),
]
#: network variants: the presets' MLPs, the conv stacks as they are, and with batch normalization
ARCHS = {
    "mlp": ['network.arch="mlp"'],
    "conv": ['network.arch="conv"'],
    "conv-bn": ['network.arch="conv"', "network.batchnorm=true"],
}


def command(preset: str, arch: str, out: Path, args) -> list[str]:
    """The ``aae train`` command line of one run."""
    cmd = [sys.executable, "-m", "aae", "train", preset, "--out", str(out), "--epochs", str(args.epochs)]
    cmd += ["--overwrite", "--quiet", "--seed", str(args.seed)]
    if args.data_dir:
        cmd += ["--data-dir", args.data_dir]
    sets = ['data.dataset="fashion-mnist"', *ARCHS[arch], f"threads={args.threads}", *args.set]
    for s in sets:
        cmd += ["--set", s]
    return cmd


def n_parameters(run: Path) -> dict[str, int]:
    """Parameters of the autoencoder (encoder + decoder) and of the discriminators of a finished run."""
    from safetensors.numpy import load_file

    counts = {"autoencoder": 0, "discriminators": 0}
    for k, v in load_file(run / "model.safetensors").items():
        if k.endswith(("running_mean", "running_var", "num_batches_tracked")) or ".standardize." in k:
            continue  # buffers, not parameters
        counts["autoencoder" if k.startswith(("encoder.", "decoder.")) else "discriminators"] += v.size
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads per run (--set threads=N)")
    ap.add_argument("--set", action="append", default=[], help="config override passed to every run")
    ap.add_argument("--archs", nargs="+", default=list(ARCHS), choices=list(ARCHS), help="network variants to run")
    ap.add_argument("--runs", type=Path, default=Path("runs/fashion_conv"))
    ap.add_argument("--results", type=Path, default=Path("results/fashion_conv"))
    args = ap.parse_args()
    rows = []
    for task, preset, metric, meaning in TASKS:
        for arch in args.archs:
            out = args.runs / f"{task}-{arch}"
            cmd = command(preset, arch, out, args)
            if not (out / "summary.json").is_file():
                print(" ".join(cmd), flush=True)
                t0 = time.time()
                subprocess.run(cmd, check=True)
                print(f"  done in {(time.time() - t0) / 60:.1f} min", flush=True)
            s = json.loads((out / "summary.json").read_text())
            rows.append(
                {
                    "task": task,
                    "preset": preset,
                    "arch": arch,
                    "metric": metric,
                    "meaning": meaning,
                    "value": s[metric],
                    "history": [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()],
                    "summary": s,
                    "parameters": n_parameters(out),
                    "train_minutes": s["train_seconds"] / 60,
                    "epochs": s["epochs"],
                    "command": "python " + " ".join(cmd[1:]),
                }
            )
    args.results.mkdir(parents=True, exist_ok=True)
    info = {"machine": machine(), "invocation": " ".join(sys.argv), "rows": rows}
    (args.results / "fashion_conv.json").write_text(json.dumps(info, indent=2) + "\n")
    lines = [
        f"Fashion-MNIST, MLP vs conv, {args.epochs} epochs each, seed {args.seed}. Machine: {info['machine']}.",
        f"Invocation: `{info['invocation']}`.",
        "",
        "| task | network | result | last epoch: recon loss, discriminator accuracy | autoencoder parameters "
        "| epochs | train time |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        value = f"{r['value']:.4f}" if r["metric"] == "recon_mse" else f"{r['value']:.2f} %"
        extra = f", MMD to prior {r['summary']['prior_mmd']:.4f}" if r["metric"] == "recon_mse" else ""
        last = r["history"][-1]
        lines.append(
            f"| {r['task']} (`{r['preset']}`) | {r['arch']} | {r['meaning']}: **{value}**{extra} "
            f"| {last['recon_loss']:.1f}, {last['disc_acc']:.3f} "
            f"| {r['parameters']['autoencoder']:,} | {r['epochs']} | {r['train_minutes']:.1f} min |"
        )
    curves = [r for r in rows if "val_error" in r["history"][0]]
    if curves:
        lines += ["", "Validation error (%) after each epoch of the semi-supervised runs:", ""]
        lines += [f"- {r['arch']}: " + ", ".join(f"{m['val_error']:.1f}" for m in r["history"]) for r in curves]
    lines += ["", "Commands:", ""]
    lines += [f"- `{r['command']}`" for r in rows]
    (args.results / "fashion_conv.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
