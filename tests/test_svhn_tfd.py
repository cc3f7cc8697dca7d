"""The SVHN and TFD presets end to end from the CLI, on small .mat files in the real layouts,
the TFD Parzen protocol and the 5-fold benchmark script."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from aae.cli import main
from aae.data import catalog
from aae.data.splits import as_float
from aae.metrics import parzen_log_prob
from aae.runs import load_run, run_splits
from conftest import write_svhn_set, write_tfd_file

SMALL = ["network.hidden=[32]", "network.disc_hidden=[16]", 'device="cpu"']
BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def svhn_dir(tmp_path, monkeypatch) -> Path:
    """``<tmp>/svhn`` with 300 train, 60 test and 100 extra images; aae's checksum tables point at them."""
    folder = tmp_path / "svhn"
    checks = write_svhn_set(folder, n_train=300, n_test=60, n_extra=100)
    monkeypatch.setitem(catalog.CHECKSUMS, "svhn", checks["svhn"])
    monkeypatch.setitem(catalog.SIZES, "svhn", {p.name: p.stat().st_size for p in folder.iterdir()})
    return tmp_path


def train_preset(preset: str, data_dir: Path, out: Path, sets: list[str], epochs: int = 1) -> int:
    args = ["train", preset, "--out", str(out), "--epochs", str(epochs), "--quiet", "--data-dir", str(data_dir)]
    return main(args + [a for s in [*SMALL, *sets] for a in ("--set", s)])


@pytest.mark.parametrize("arch", [[], ['network.arch="conv"', "network.channels=[4,8]"]], ids=["mlp", "conv"])
def test_svhn_semisupervised_preset(svhn_dir, tmp_path, arch):
    out = tmp_path / "run"
    sets = ["data.validation=50", "data.n_labeled=100", "batch_size=50", "labeled_batch_size=20", *arch]
    assert train_preset("svhn-semisupervised-1000", svhn_dir, out, sets) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert 0 <= summary["test_error"] <= 100 and 0 <= summary["val_error"] <= 100
    cfg = json.loads((out / "config.json").read_text())
    # the preset's choices survive the small-network overrides
    assert cfg["data"] == {**cfg["data"], "dataset": "svhn+extra", "standardize": True}
    assert cfg["network"]["batchnorm"] and cfg["network"]["code_dim"] == 20 and cfg["network"]["output"] == "linear"
    weights = load_file(out / "model.safetensors")
    assert weights["encoder.standardize.mean"].shape == (3072,)
    assert any("running_mean" in k for k in weights)  # batch normalization in the autoencoder
    # training = the 250 train-file images left after validation + the 100 extra; 100 labels kept
    assert json.loads((out / "metrics.jsonl").read_text().splitlines()[0])["step"] == 350 // 50
    for name in ("samples.png", "reconstructions.png", "styles.png", "clusters.png"):
        assert (out / "figures" / name).stat().st_size > 1000, name


def test_svhn_supervised_style_preset(svhn_dir, tmp_path):
    out = tmp_path / "run"
    assert train_preset("svhn-supervised-style", svhn_dir, out, ["data.validation=50", "batch_size=50"]) == 0
    assert {"recon_mse", "prior_mmd"} <= set(json.loads((out / "summary.json").read_text()))
    assert (out / "figures" / "styles.png").stat().st_size > 1000  # Fig. 7b: rows of styles, columns of digits
    assert main(["sample", str(out), "-n", "10", "--label", "3", "-o", str(tmp_path / "threes.npy")]) == 0
    s = np.load(tmp_path / "threes.npy")
    assert s.shape == (10, 3072) and s.min() >= 0 and s.max() <= 1


def test_tfd_preset_and_parzen_in_pixel_units(tmp_path):
    write_tfd_file(tmp_path / "tfd" / "TFD_48x48.mat", n=120)
    out = tmp_path / "run"
    assert train_preset("tfd-gaussian-15d", tmp_path, out, ["batch_size=20", "data.fold=2"], epochs=2) == 0
    assert "recon_mse" in json.loads((out / "summary.json").read_text())
    assert main(["eval", str(out), "--parzen", "--n-samples", "2304", "--data-dir", str(tmp_path)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    # the same number from decoded samples (back in [0, 1]) and the fold's test images in [0, 1]
    run = load_run(out)
    splits = run_splits(run, str(tmp_path))
    assert run.cfg.data.fold == 2 and splits.x_test.dtype == torch.uint8
    g = torch.Generator().manual_seed(0)
    samples = torch.cat([run.model.sample(min(2000, 2304 - i), g) for i in range(0, 2304, 2000)])
    assert samples.min() >= 0 and samples.max() <= 1 and samples.std() > 0
    ll = parzen_log_prob(samples, as_float(splits.x_test), [summary["parzen_sigma"]])[:, 0]
    assert summary["parzen_ll"] == pytest.approx(float(ll.mean()), rel=1e-9)


def load_benchmark(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tfd_parzen_benchmark_over_five_folds(tmp_path, capsys):
    # the real file's fields and folds, with 16x16 faces: the Parzen window then needs 256 samples, not 2304
    write_tfd_file(tmp_path / "data" / "tfd" / "TFD_48x48.mat", n=80, side=16)
    bench = load_benchmark("tfd_parzen")
    args = ["--data-dir", str(tmp_path / "data"), "--epochs", "1", "--n-samples", "300"]
    args += ["--runs", str(tmp_path / "runs"), "--results", str(tmp_path / "results")]
    for s in [*SMALL, "batch_size=10"]:
        args += ["--set", s]
    info = bench.main(args)
    lls = [f["parzen_ll"] for f in info["folds"]]
    assert [f["fold"] for f in info["folds"]] == [0, 1, 2, 3, 4] and all(np.isfinite(lls))
    assert info["parzen_ll_mean"] == pytest.approx(np.mean(lls))
    assert info["parzen_ll_sem_across_folds"] == pytest.approx(np.std(lls, ddof=1) / np.sqrt(5))
    saved = json.loads((tmp_path / "results" / "tfd_parzen.json").read_text())
    assert saved["parzen_ll_mean"] == info["parzen_ll_mean"]
    md = (tmp_path / "results" / "tfd_parzen.md").read_text()
    assert "2252 ± 16" in md and "Mean over 5 fold(s)" in md and "data.fold=4" in md
    # a second call reuses the finished folds
    capsys.readouterr()
    assert bench.main(args)["folds"] == info["folds"]
    assert "run written to" not in capsys.readouterr().out
