"""Data-parallel training over 2 CPU processes (gloo) against a single process on the same global batch."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from safetensors.numpy import load_file
from safetensors.torch import load_file as load_torch
from safetensors.torch import save_file

from aae.config import apply_overrides
from aae.distributed import World, exit_now
from aae.models import build_model
from aae.presets import get_preset
from aae.training import Trainer
from conftest import TINY, make_tiny_images, train_args


def zero_prior(n, generator=None):
    """A prior without randomness, so that 1 and 2 processes see the same prior samples."""
    return torch.zeros(n, 2)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tiny_setup():
    # float32 whatever the machine: 1 and 2 processes sum the gradients in different orders, and
    # with bf16 products (precision=auto where bf16 is fast) the rounding exceeds the tolerance
    sets = ['prior={"name": "test_distributed:zero_prior"}', 'precision="float32"']
    cfg = apply_overrides(get_preset("mnist-gaussian-2d"), TINY + sets)
    x, y = make_tiny_images(240)
    return cfg, torch.from_numpy(x.reshape(240, -1)).float() / 255, torch.from_numpy(y)


def train(world: World, epochs: int = 2) -> Trainer:
    cfg, x, y = tiny_setup()
    torch.manual_seed(cfg.seed)
    trainer = Trainer(build_model(cfg, x.shape[1], 10), cfg, x, y, world)
    trainer.fit(epochs)
    return trainer


def worker(rank: int, size: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=size)
    try:
        trainer = train(World(rank, size))
        save_file({k: v.contiguous() for k, v in trainer.model.state_dict().items()}, f"{out}/rank{rank}.safetensors")
        with open(f"{out}/history{rank}.json", "w") as f:
            json.dump(trainer.history, f)
    finally:
        dist.destroy_process_group()
    exit_now(0)  # as the CLI does under torchrun: a normal interpreter exit can abort in gloo's threads


def test_two_processes_match_one_on_the_same_global_batch(tmp_path):
    mp.spawn(worker, args=(2, free_port(), str(tmp_path)), nprocs=2, join=True)
    r0, r1 = load_torch(tmp_path / "rank0.safetensors"), load_torch(tmp_path / "rank1.safetensors")
    assert all(torch.equal(r0[k], r1[k]) for k in r0), "the processes' weights diverged"
    torch.set_num_threads(1)
    single = train(World()).model.state_dict()
    for k in single:
        torch.testing.assert_close(r0[k], single[k], rtol=1e-4, atol=1e-5, msg=f"{k} differs from one process")
    h0 = json.loads((tmp_path / "history0.json").read_text())
    h1 = json.loads((tmp_path / "history1.json").read_text())
    assert [m["recon_loss"] for m in h0] == [m["recon_loss"] for m in h1]  # metrics averaged over processes


def test_torchrun_cli_writes_one_run(tiny_npz, tmp_path):
    out = tmp_path / "run"
    launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port"]
    cmd = [*launcher, str(free_port()), "-m", "aae", *train_args(tiny_npz, out, 2, TINY + ["threads=1"])]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count("run written to") == 1
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2
    ckpt = json.loads((out / "checkpoint.json").read_text())
    assert ckpt["world_size"] == 2
    tensors = load_file(out / ckpt["tensors"])
    assert "rng.noise.1" in tensors and not np.array_equal(tensors["rng.noise"], tensors["rng.noise.1"])
    # resuming with two processes continues the same run
    cmd_resume = [*launcher, str(free_port()), "-m", "aae", "train", "--resume", str(out), "--epochs", "3", "--quiet"]
    r = subprocess.run(cmd_resume, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 3


def test_cli_exits_without_finalization_only_under_torchrun(monkeypatch, capsys):
    """Under torchrun the CLI ends through exit_now (gloo threads can abort a normal exit); otherwise it returns."""
    from aae import cli

    exits = []
    monkeypatch.setattr(cli, "exit_now", lambda code: exits.append(code))
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert cli.main(["presets"]) == 0 and exits == []
    monkeypatch.setenv("WORLD_SIZE", "2")
    cli.main(["presets"])
    assert exits == [0]
