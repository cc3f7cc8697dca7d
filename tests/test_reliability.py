"""Crash safety: kill-and-resume, signals, NaN faults, disk full, run directories."""

import errno
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from aae import checkpoints
from aae.checkpoints import load_tensors, save_tensors
from aae.cli import main
from aae.errors import AAEError
from conftest import TINY, make_tiny_images, train_args

# a model big enough that training takes a few seconds, so kills land mid-training
SLOW = [s for s in TINY if not s.startswith("network.")] + [
    "network.hidden=[256,256]",
    "network.disc_hidden=[128]",
    "threads=1",
    "checkpoint_every=3",
]
EPOCHS = 25


def train_cmd(tiny_npz, out, *extra):
    return [sys.executable, "-m", "aae", *train_args(tiny_npz, out, EPOCHS, SLOW), *extra]


def resume_cmd(out):
    return [sys.executable, "-m", "aae", "train", "--resume", str(out), "--quiet"]


def checkpoint_step(out: Path) -> int:
    try:
        return json.loads((out / "checkpoint.json").read_text())["step"]
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return -1


def interrupt_at(cmd, out, target_step, sig, rng):
    """Start ``cmd``, wait until a checkpoint at or past ``target_step`` exists, send ``sig``."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while checkpoint_step(out) < target_step and proc.poll() is None and time.time() < deadline:
        time.sleep(0.002)
    time.sleep(rng.uniform(0, 0.02))  # land anywhere, also inside a checkpoint write
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


def test_kill_and_signals_resume_bit_identical(tiny_npz, tmp_path):
    ref, run = tmp_path / "ref", tmp_path / "run"
    subprocess.run(train_cmd(tiny_npz, ref), check=True, capture_output=True, timeout=300)
    total = json.loads((ref / "checkpoint.json").read_text())["step"]
    rng = random.Random(1234)
    targets = sorted(rng.sample(range(5, total - 40), 5))
    signals = [signal.SIGKILL, signal.SIGKILL, signal.SIGTERM, signal.SIGKILL, signal.SIGINT]
    stopped_at = []
    cmd = train_cmd(tiny_npz, run)
    for target, sig in zip(targets, signals):
        code, err = interrupt_at(cmd, run, target, sig, rng)
        assert code in (-signal.SIGKILL, 128 + signal.SIGTERM, 128 + signal.SIGINT), (code, err)
        if sig != signal.SIGKILL:
            assert code == 128 + sig and "Resume with: aae train" in err and "Traceback" not in err
        stopped_at.append(checkpoint_step(run))
        cmd = resume_cmd(run)
    assert all(0 < s < total for s in stopped_at), stopped_at
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    a, b = load_file(ref / "model.safetensors"), load_file(run / "model.safetensors")
    assert a.keys() == b.keys()
    assert all(np.array_equal(a[k], b[k]) for k in a), "resumed weights differ from the uninterrupted run"
    ma = [json.loads(s) for s in (ref / "metrics.jsonl").read_text().splitlines()]
    mb = [json.loads(s) for s in (run / "metrics.jsonl").read_text().splitlines()]
    assert [m["recon_loss"] for m in ma] == [m["recon_loss"] for m in mb] and len(mb) == EPOCHS
    assert len(list(run.glob("checkpoint-*.safetensors"))) == 1
    print(f"kill points (checkpoint step at stop): {stopped_at} of {total} steps")


def tiny_train(tiny_npz, out, *extra, epochs=3):
    return main(train_args(tiny_npz, out, epochs, TINY + list(extra)))


def poison_step(monkeypatch, at_step, times=1):
    """Make the reconstruction loss NaN at global step ``at_step`` (the first ``times`` times)."""
    from aae.models import AdversarialAutoencoder

    original = AdversarialAutoencoder.train_step
    state = {"calls": 0, "hits": 0}

    def train_step(self, *a, **k):
        out = original(self, *a, **k)
        state["calls"] += 1
        if state["calls"] == at_step and state["hits"] < times:
            state["hits"] += 1
            out["recon_loss"] = torch.tensor(float("nan"))
        return out

    monkeypatch.setattr(AdversarialAutoencoder, "train_step", train_step)
    return state


def test_nan_stops_with_phase_and_step_and_keeps_checkpoint(tiny_npz, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    poison_step(monkeypatch, at_step=20)  # 12 steps per epoch: in epoch 2
    assert tiny_train(tiny_npz, out) == 2
    err = capsys.readouterr().err
    assert "recon_loss became nan in the 'recon' phase at step 20 (epoch 2)" in err
    assert "last good checkpoint" in err and "rerun the same command with the change and --overwrite" in err
    assert "data range" not in err  # pixels in [0, 1]: the range is not blamed
    tensors, meta = load_tensors(out / "checkpoint")
    assert meta["step"] == 12 and all(torch.isfinite(v).all() for k, v in tensors.items() if k.startswith("model."))
    assert not (out / "model.json").exists()


def test_nan_on_unscaled_data_names_their_range(tiny_npz, tmp_path, monkeypatch, capsys):
    x = np.load(tiny_npz)["x"].astype(np.float32)  # 8-bit pixels as floats 0..255, never divided
    np.savez(tmp_path / "raw.npz", x=x, y=np.load(tiny_npz)["y"])
    poison_step(monkeypatch, at_step=3)
    assert tiny_train(tmp_path / "raw.npz", tmp_path / "run", 'network.output="linear"') == 2
    err = capsys.readouterr().err
    hi = float(x.max())
    assert f"The training data range over [0, {hi:.4g}], far from [0, 1]" in err and "x / 255" in err


def test_nan_rollback_lowers_lr_and_finishes(tiny_npz, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    state = poison_step(monkeypatch, at_step=8)
    monkeypatch.setattr(sys, "stderr", sys.stderr)
    assert (
        main(
            [
                "train",
                "mnist-gaussian-2d",
                "--out",
                str(out),
                "--epochs",
                "2",
                "--set",
                f'data.dataset="{tiny_npz}"',
                "--set",
                "on_nan=rollback",
                "--set",
                "checkpoint_every=5",
                *sum((["--set", s] for s in TINY), []),
            ]
        )
        == 0
    )
    assert state["hits"] == 1
    assert "rolled back to step 5, learning rates x0.5" in capsys.readouterr().err
    lines = [json.loads(s) for s in (out / "metrics.jsonl").read_text().splitlines()]
    assert lines[-1]["lr_recon"] == pytest.approx(0.5 * 0.01)


def test_disk_full_keeps_previous_checkpoint(tmp_path, monkeypatch):
    save_tensors(tmp_path / "checkpoint", {"w": torch.ones(3)}, {"step": 1}, tensor_file="checkpoint-1.safetensors")
    real_fdopen = os.fdopen

    class FullFile:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *a):
            self.f.close()

        def write(self, data):
            self.f.write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoints.os, "fdopen", lambda fd, mode: FullFile(real_fdopen(fd, mode)))
    with pytest.raises(AAEError, match="No space left on device; its previous version is untouched"):
        save_tensors(
            tmp_path / "checkpoint", {"w": torch.zeros(3)}, {"step": 2}, tensor_file="checkpoint-2.safetensors"
        )
    monkeypatch.undo()
    tensors, meta = load_tensors(tmp_path / "checkpoint")
    assert meta["step"] == 1 and torch.equal(tensors["w"], torch.ones(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-1.safetensors", "checkpoint.json"]


def test_resume_refuses_changes_and_missing_run(tiny_npz, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--resume"]) == 2
    assert f"--resume: run directory {out} does not exist" in capsys.readouterr().err
    out.mkdir()
    assert main(["train", "--out", str(out), "--resume"]) == 2
    assert "holds no config.json: not a run directory" in capsys.readouterr().err
    assert list(out.iterdir()) == []
    tiny_train(tiny_npz, out, epochs=1)
    assert main(["train", "--out", str(out), "--resume", "--set", "seed=3"]) == 2
    assert "only --epochs may change" in capsys.readouterr().err
    assert main(["train"]) == 2
    assert "name a preset" in capsys.readouterr().err


def test_unknown_network_kind_in_model_json_is_refused(tiny_npz, tmp_path, capsys):
    out = tmp_path / "run"
    tiny_train(tiny_npz, out, epochs=1)
    desc = json.loads((out / "model.json").read_text())
    desc["config"]["network"]["encoder"] = "transformer"
    (out / "model.json").write_text(json.dumps(desc))
    assert main(["sample", str(out), "-o", str(tmp_path / "s.npy")]) == 2
    assert "'network.encoder': 'transformer' is not one of" in capsys.readouterr().err
    desc["config"]["network"]["encoder"] = "deterministic"
    desc["config"]["network"]["hidden"] = [33]
    (out / "model.json").write_text(json.dumps(desc))
    assert main(["sample", str(out), "-o", str(tmp_path / "s.npy")]) == 2
    assert "weights do not match the config" in capsys.readouterr().err


def test_timed_checkpoints_bound_what_a_kill_loses(tmp_path):
    """checkpoint_minutes: a run killed (SIGKILL) mid-epoch keeps a checkpoint at most that old."""
    x, y = make_tiny_images(n=40000)  # about 1,600 steps per epoch: several seconds
    np.savez(tmp_path / "big.npz", x=x, y=y)
    out, minutes = tmp_path / "run", 0.01
    sets = [s for s in SLOW if not s.startswith("checkpoint_every")] + [f"checkpoint_minutes={minutes}"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "aae", *train_args(tmp_path / "big.npz", out, 2, sets)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: set[int] = set()
    deadline = time.time() + 120
    while len(seen - {0}) < 3 and proc.poll() is None and time.time() < deadline:
        seen.add(checkpoint_step(out))
        time.sleep(0.005)
    time.sleep(random.Random(7).uniform(0, 60 * minutes))
    proc.send_signal(signal.SIGKILL)
    killed_at = time.time()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, err
    tensors, meta = load_tensors(out / "checkpoint")  # complete and verified
    assert 0 in seen  # written before the first step
    assert meta["epoch"] == 0 and 0 < meta["batch"] == meta["step"], "no checkpoint inside the first epoch"
    lost = killed_at - (out / "checkpoint.json").stat().st_mtime
    assert lost < 60 * minutes + 1.5, f"the last checkpoint was {lost:.2f} s old when the run was killed"
    assert len(list(out.glob("checkpoint-*.safetensors"))) == 1


def test_resume_with_a_config_and_no_checkpoint_trains_from_step_0(tiny_npz, tmp_path, capsys):
    ref, run = tmp_path / "ref", tmp_path / "run"
    assert tiny_train(tiny_npz, ref, epochs=2) == 0
    run.mkdir()
    (run / "config.json").write_bytes((ref / "config.json").read_bytes())  # killed before any checkpoint
    capsys.readouterr()
    assert main(["train", "--resume", str(run)]) == 0
    assert "holds no checkpoint yet: training from step 0 with its saved config" in capsys.readouterr().err
    a, b = load_file(ref / "model.safetensors"), load_file(run / "model.safetensors")
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert (run / "metrics.jsonl").read_text() != "" and len((run / "metrics.jsonl").read_text().splitlines()) == 2


def test_stop_and_resume_messages_count_epochs_the_same_way():
    from types import SimpleNamespace

    from aae.runs.train import where

    mid = SimpleNamespace(epoch=1, batch=209, step=709)  # what a checkpoint restores, read by both messages
    assert where(mid, 20) == "in epoch 2 of 20 (209 batches done), step 709"
    assert where(SimpleNamespace(epoch=2, batch=0, step=1000), 20) == "after epoch 2 of 20, step 1000"
