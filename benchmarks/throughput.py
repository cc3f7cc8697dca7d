"""Training throughput of the paper-sized MNIST AAE: ours vs pythae 0.1.2, against the matmul ceiling.

    python benchmarks/throughput.py --data-dir ../shared/data [--steps 200] [--skip-pythae] [--skip-cli]
        [--quality-epochs 3] [--results results/throughput]

In one run it measures
  - the float32 and bf16 matrix-product ceilings of this machine (torch.utils.benchmark),
  - the FLOPs of one training step (torch.utils.flop_counter, per sample),
  - our trainer's samples/s in float32 and bf16, and the achieved GFLOP/s as a fraction of the ceilings,
  - the CLI path as a user runs it: ``aae train PRESET`` timed for 3 epochs and for 1 (the difference,
    halved, is one epoch with everything done per epoch: validation metrics, checkpoints), for the
    AAE preset in its default precision and in float32 and for the semi-supervised preset in its
    default precision; the speed bars are read from these,
  - pythae 0.1.2's Adversarial_AE with identical networks, batch size and data (``pip install pythae==0.1.2``),
  - optionally (``--quality-epochs N``) test reconstruction MSE and prior MMD after N epochs in float32 and bf16,
  - a torch.profiler breakdown of a training step in float32 and bf16 (``--no-profile`` skips it),
and writes ``results/throughput/throughput.json`` and ``results/throughput/throughput.md``.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.utils.benchmark as tb
from torch.utils.flop_counter import FlopCounterMode

from aae.config import apply_overrides
from aae.data import load_splits
from aae.errors import AAEError, exit_on_error
from aae.hardware import resolve_precision
from aae.models import build_model
from aae.presets import get_preset
from aae.runs import Run, evaluate
from aae.training import Trainer


def matmul_ceiling(dtype: torch.dtype, n: int = 2048) -> float:
    """GFLOP/s of an n×n×n matrix product."""
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    timer = tb.Timer("a @ b", globals={"a": a, "b": b}, num_threads=torch.get_num_threads())
    t = timer.blocked_autorange(min_run_time=2.0)
    return 2 * n**3 / t.median / 1e9


def make_trainer(precision: str, splits, seed: int = 0) -> Trainer:
    cfg = apply_overrides(get_preset("mnist-gaussian-2d"), [f'precision="{precision}"', f"seed={seed}"])
    torch.manual_seed(seed)
    model = build_model(cfg, splits.data_dim, splits.n_classes)
    return Trainer(model, cfg, splits.x_train, splits.y_train)


def step_flops(trainer: Trainer) -> float:
    """FLOPs of one training step (all phases) per sample, counted by PyTorch."""
    bs = trainer.cfg.batch_size
    with FlopCounterMode(display=False) as counter:
        run_steps(trainer, 1)
    return counter.get_total_flops() / bs


def run_steps(trainer: Trainer, steps: int) -> None:
    """``steps`` mini-batches through ``trainer``'s model (its precision included), data in order."""
    bs, x, y = trainer.cfg.batch_size, trainer.x, trainer.y
    for i in range(steps):
        sl = slice(i * bs, (i + 1) * bs)
        trainer.model.train_step(x[sl], y[sl], trainer.optimizers, trainer.noise, trainer.amp)


def our_samples_per_second(precision: str, splits, steps: int) -> float:
    """One epoch of ``Trainer.fit`` over ``steps`` mini-batches (the whole loop: order, checks, metrics)."""
    trainer = make_trainer(precision, splits)
    run_steps(trainer, 10)  # warm-up
    bs = trainer.cfg.batch_size
    trainer.x, trainer.y = trainer.x[: steps * bs], trainer.y[: steps * bs]
    t0 = time.perf_counter()
    trainer.fit(1)
    return steps * bs / (time.perf_counter() - t0)


#: the presets the CLI path is timed on: the paper-sized AAE and the semi-supervised network
AAE_PRESET, SS_PRESET = "mnist-gaussian-2d", "mnist-semisupervised-1000"


def cli_epoch(preset: str, n_train: int, data_dir: str | None, workdir: Path, overrides: tuple[str, ...] = ()) -> dict:
    """One epoch of ``aae train preset`` as a user runs it: (3-epoch run − 1-epoch run) / 2 seconds.

    Start-up, data loading, the final evaluation and figures are the same in both runs and cancel;
    what is left is two epochs with everything done per epoch. Returns the seconds, the training
    images (``n_train`` per epoch) per second and the precision the run resolved to (summary.json)."""
    seconds = {}
    for epochs in (1, 3):
        out = workdir / f"{preset}-{'-'.join(overrides) or 'default'}-{epochs}"
        cmd = [sys.executable, "-m", "aae", "train", preset, "--epochs", str(epochs), "--out", str(out)]
        cmd += ["--quiet", "--overwrite"] + (["--data-dir", data_dir] if data_dir else [])
        for o in overrides:
            cmd += ["--set", o]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        seconds[epochs] = time.perf_counter() - t0
    summary = json.loads((out / "summary.json").read_text())
    epoch_s = (seconds[3] - seconds[1]) / 2
    return {"epoch_seconds": epoch_s, "samples_per_second": n_train / epoch_s, "n_train": n_train,
            "precision": summary["precision"]}  # fmt: skip


def pythae_samples_per_second(splits, n_samples: int) -> float:
    """pythae 0.1.2 Adversarial_AE, same 784-1000-1000-2 / 2-1000-1000-784 / 2-1000-1000-1 networks."""
    from pythae.models import Adversarial_AE, Adversarial_AE_Config
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseDiscriminator, BaseEncoder
    from pythae.trainers import AdversarialTrainer, AdversarialTrainerConfig

    from aae.networks import mlp

    class Enc(BaseEncoder):
        def __init__(self):
            super().__init__()
            self.net = mlp(784, [1000, 1000], 2)

        def forward(self, x):
            h = self.net(x.reshape(len(x), -1))
            return ModelOutput(embedding=h, log_covariance=torch.zeros_like(h))

    class Dec(BaseDecoder):
        def __init__(self):
            super().__init__()
            self.net = mlp(2, [1000, 1000], 784, output="sigmoid")

        def forward(self, z):
            return ModelOutput(reconstruction=self.net(z).reshape(len(z), 1, 28, 28))

    class Disc(BaseDiscriminator):
        def __init__(self):
            super().__init__()
            self.net = mlp(2, [1000, 1000], 1, output="sigmoid")

        def forward(self, z):
            return ModelOutput(embedding=self.net(z))

    cfg = Adversarial_AE_Config(
        input_dim=(1, 28, 28), latent_dim=2, reconstruction_loss="mse", deterministic_posterior=True
    )
    model = Adversarial_AE(cfg, encoder=Enc(), decoder=Dec(), discriminator=Disc())
    tcfg = AdversarialTrainerConfig(
        output_dir="/tmp/pythae-bench",
        per_device_train_batch_size=100,
        num_epochs=1,
        autoencoder_optimizer_cls="SGD",
        autoencoder_optimizer_params={"momentum": 0.9},
        autoencoder_learning_rate=0.001,
        discriminator_optimizer_cls="SGD",
        discriminator_optimizer_params={"momentum": 0.1},
        discriminator_learning_rate=0.1,
        no_cuda=True,
    )
    from pythae.data.datasets import BaseDataset

    x = splits.x_train[:n_samples].reshape(-1, 1, 28, 28)
    data = BaseDataset(x, splits.y_train[:n_samples].clamp(min=0))
    trainer = AdversarialTrainer(model, data, training_config=tcfg)
    trainer.prepare_training()  # optimizers, output folder and callbacks, as train() does first
    trainer.train_step(epoch=1)  # warm-up epoch
    t0 = time.perf_counter()
    trainer.train_step(epoch=2)
    return n_samples / (time.perf_counter() - t0)


def profile(precision: str, splits, steps: int = 20, top: int = 12) -> list[dict]:
    """Where a training step's time goes: the ``top`` operators by self CPU time (torch.profiler)."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    trainer = make_trainer(precision, splits)
    run_steps(trainer, 5)  # warm-up
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        run_steps(trainer, steps)
    events = [e for e in prof.key_averages() if e.self_cpu_time_total > 0]
    total = sum(e.self_cpu_time_total for e in events)
    events.sort(key=lambda e: -e.self_cpu_time_total)
    return [
        {
            "op": e.key,
            "ms_per_step": e.self_cpu_time_total / 1e3 / steps,
            "percent": 100 * e.self_cpu_time_total / total,
        }
        for e in events[:top]
    ]


def markdown(res: dict) -> str:
    """The results table, the bars of the speed issue and the profiles."""
    f32, bf16 = res["ours"]["float32"], res["ours"]["bf16"]
    lines = [
        f"Machine: {res['machine']}, torch {res['torch']}, {res['threads']} threads. Command: `{res['command']}`.",
        "",
        "| | samples/s | MFLOP/sample | GFLOP/s | of float32 ceiling | of bf16 ceiling | 60,000-image epoch |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in (("ours, float32", f32), ("ours, bf16", bf16)):
        lines.append(
            f"| {name} | {r['samples_per_second']:.0f} | {r['mflop_per_sample']:.1f} | {r['gflops']:.0f} "
            f"| {100 * r['fraction_of_float32_ceiling']:.0f} % | {100 * r['fraction_of_bf16_ceiling']:.0f} % "
            f"| {60000 / r['samples_per_second']:.1f} s |"
        )
    if "pythae" in res:
        p = res["pythae"]["samples_per_second"]
        lines.append(f"| pythae 0.1.2 Adversarial_AE, float32 | {p:.0f} | | | | | {60000 / p:.0f} s |")
    c = res["ceiling_gflops"]
    lines += [
        "",
        f"Matrix-product ceilings (2048³, same run): float32 {c['float32']:.0f}, bf16 {c['bf16']:.0f} GFLOP/s.",
        "",
    ]
    if "cli" in res:
        lines += cli_lines(res)
    if "quality" in res:
        q = res["quality"]
        lines += [
            "",
            f"Quality on the test split after {q['epochs']} epochs, mean ± std over {q['seeds']} seeds "
            "(float32's own std is the seed-to-seed spread the difference is measured against):",
            "",
            "| metric | float32 | bf16 | means apart | met (≤ 10 %) |",
            "|---|---|---|---|---|",
        ]
        for k in QUALITY_METRICS:
            d = q["relative_difference"][k]
            cells = [f"{q[p][k]:.4f} ± {q[p + '_std'][k]:.4f}" for p in ("float32", "bf16")]
            lines.append(f"| {k} | {cells[0]} | {cells[1]} | {100 * d:.1f} % | {'yes' if d <= 0.10 else '**no**'} |")
    for precision, rows in res.get("profile", {}).items():
        lines += ["", f"Profile, {precision} (self CPU time per training step, top operators):", ""]
        lines += ["| operator | ms per step | share |", "|---|---|---|"]
        lines += [f"| `{r['op']}` | {r['ms_per_step']:.2f} | {r['percent']:.1f} % |" for r in rows]
    return "\n".join(lines) + "\n"


def cli_lines(res: dict) -> list[str]:
    """The CLI-path table and the speed bars read from it."""
    cli, c, mflop = res["cli"], res["ceiling_gflops"], res["ours"]["float32"]["mflop_per_sample"]
    aae = {p: cli[f"aae-{p}"] for p in ("float32", "bf16")}
    default, ss = aae[res["default_precision"]], cli["semisupervised-default"]
    lines = [
        f"The CLI path (`aae train PRESET`, (3-epoch run − 1-epoch run) / 2, {res['threads']} threads):",
        "",
        "| preset | precision | epoch | samples/s |",
        "|---|---|---|---|",
    ]
    rows = [(AAE_PRESET, aae["float32"]), (AAE_PRESET, aae["bf16"]), (SS_PRESET, ss)]
    for name, r in rows:
        lines.append(f"| {name} | {r['precision']} | {r['epoch_seconds']:.1f} s | {r['samples_per_second']:.0f} |")
    fraction = {p: aae[p]["samples_per_second"] * mflop / 1e3 / c[p] for p in ("float32", "bf16")}
    against_pythae = [
        (f"{AAE_PRESET}'s default precision ({res['default_precision']}) ≥ 2.5× pythae", 2.5, default),
        ("float32 ≥ 1.0× pythae", 1.0, aae["float32"]),
    ]
    out = []
    if "pythae" in res:
        for bar, times, r in against_pythae:
            ratio = r["samples_per_second"] / res["pythae"]["samples_per_second"]
            out.append((bar, f"{ratio:.2f}×", ratio >= times))
    out += [
        ("float32 ≥ 70 % of the float32 ceiling", f"{100 * fraction['float32']:.0f} %", fraction["float32"] >= 0.7),
        ("bf16 ≥ 60 % of the bf16 ceiling", f"{100 * fraction['bf16']:.0f} %", fraction["bf16"] >= 0.6),
        (
            f"{SS_PRESET}'s default epoch ({ss['precision']}) ≤ 1.6× the AAE's",
            f"{ss['epoch_seconds'] / default['epoch_seconds']:.2f}×",
            ss["epoch_seconds"] <= 1.6 * default["epoch_seconds"],
        ),
    ]
    lines += ["", "| bar | measured | met |", "|---|---|---|"]
    return lines + [f"| {b} | {m} | {'yes' if ok else '**no**'} |" for b, m, ok in out]


def quality(precision: str, splits, epochs: int, seed: int = 0) -> dict:
    """Test metrics after ``epochs`` epochs of the benchmark model in ``precision``, seeded with ``seed``."""
    trainer = make_trainer(precision, splits, seed)
    t0 = time.perf_counter()
    trainer.fit(epochs)
    seconds = time.perf_counter() - t0
    cfg = trainer.cfg
    run = Run(Path("."), cfg, trainer.model, splits.data_dim, splits.n_classes, splits.image_shape)
    return {**evaluate(run, splits), "train_seconds": seconds}


QUALITY_METRICS = ("recon_mse", "prior_mmd")


def quality_comparison(splits, epochs: int, seeds: int) -> dict:
    """float32 vs bf16 after the same epochs, over ``seeds`` seeds each.

    One adversarial run's prior MMD moves by tens of percent from seed to seed, so the two
    precisions are compared on their means, beside float32's own seed-to-seed spread.
    """
    runs = {p: [quality(p, splits, epochs, seed) for seed in range(seeds)] for p in ("float32", "bf16")}
    out: dict = {"epochs": epochs, "seeds": seeds, "runs": runs}
    for p, rs in runs.items():
        out[p] = {k: float(np.mean([r[k] for r in rs])) for k in QUALITY_METRICS}
        out[p + "_std"] = {k: float(np.std([r[k] for r in rs], ddof=1)) if seeds > 1 else 0.0 for k in QUALITY_METRICS}
    out["relative_difference"] = {
        k: abs(out["bf16"][k] - out["float32"][k]) / abs(out["float32"][k]) for k in QUALITY_METRICS
    }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--steps", type=int, default=200, help="timed steps per configuration")
    ap.add_argument("--pythae-samples", type=int, default=5000)
    ap.add_argument("--skip-pythae", action="store_true")
    ap.add_argument("--skip-cli", action="store_true", help="skip the CLI-path timing (and the bars read from it)")
    ap.add_argument("--quality-epochs", type=int, default=0, help="also compare test quality after N epochs")
    ap.add_argument("--quality-seeds", type=int, default=3, help="seeds per precision for the quality comparison")
    ap.add_argument("--results", type=Path, default=Path("results/throughput"))
    ap.add_argument("--no-profile", action="store_true", help="skip the torch.profiler breakdown")
    args = ap.parse_args()
    if args.quality_seeds < 1:
        ap.error(f"--quality-seeds must be at least 1, got {args.quality_seeds}")

    splits = load_splits("mnist", args.data_dir)
    res: dict = {
        "machine": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "command": "python " + " ".join(sys.argv),
    }
    res["ceiling_gflops"] = {"float32": matmul_ceiling(torch.float32), "bf16": matmul_ceiling(torch.bfloat16)}
    print("matmul ceiling GFLOP/s:", {k: round(v) for k, v in res["ceiling_gflops"].items()}, flush=True)
    res["ours"] = {}
    for precision in ("float32", "bf16"):
        flops = step_flops(make_trainer(precision, splits))
        sps = our_samples_per_second(precision, splits, args.steps)
        gflops = sps * flops / 1e9
        res["ours"][precision] = {
            "samples_per_second": sps,
            "mflop_per_sample": flops / 1e6,
            "gflops": gflops,
            "fraction_of_float32_ceiling": gflops / res["ceiling_gflops"]["float32"],
            "fraction_of_bf16_ceiling": gflops / res["ceiling_gflops"]["bf16"],
        }
        print(precision, {k: round(v, 3) for k, v in res["ours"][precision].items()}, flush=True)
    if not args.skip_pythae:
        res["pythae"] = {"samples_per_second": pythae_samples_per_second(splits, args.pythae_samples)}
        res["ratio_float32_vs_pythae"] = (
            res["ours"]["float32"]["samples_per_second"] / res["pythae"]["samples_per_second"]
        )
        print("pythae", res["pythae"], "ratio", round(res["ratio_float32_vs_pythae"], 2), flush=True)
    if not args.skip_cli:
        n_train = len(splits.x_train)
        parity = build_model(get_preset(AAE_PRESET), splits.data_dim, splits.n_classes).capabilities.bf16_parity
        res["default_precision"] = resolve_precision("auto", torch.device("cpu"), parity)
        res["cli"] = {}
        with tempfile.TemporaryDirectory() as tmp:
            for precision in ("float32", "bf16"):
                res["cli"][f"aae-{precision}"] = cli_epoch(
                    AAE_PRESET, n_train, args.data_dir, Path(tmp), (f"precision={precision}",)
                )
            res["cli"]["semisupervised-default"] = cli_epoch(SS_PRESET, n_train, args.data_dir, Path(tmp))
        print("cli", json.dumps(res["cli"], indent=1), flush=True)
    if args.quality_epochs:
        res["quality"] = quality_comparison(splits, args.quality_epochs, args.quality_seeds)
        print("quality", json.dumps(res["quality"], indent=1), flush=True)
    if not args.no_profile:
        res["profile"] = {p: profile(p, splits) for p in ("float32", "bf16")}
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "throughput.json").write_text(json.dumps(res, indent=2) + "\n")
    (args.results / "throughput.md").write_text(markdown(res))
    print(markdown(res))


if __name__ == "__main__":
    try:
        main()
    except AAEError as e:  # data not found, a bad preset: one line, as the CLI says it
        exit_on_error(str(e))
    except subprocess.CalledProcessError as e:  # `aae train` printed its own error line above
        exit_on_error(f"a timed run failed (exit status {e.returncode}): {' '.join(e.cmd)}")
