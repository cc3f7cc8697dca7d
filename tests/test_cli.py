import argparse
import gzip
import hashlib
import importlib.util
import io
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from aae.cli import main
from aae.data import array_split_rows
from aae.errors import AAEError
from conftest import TINY, make_tiny_images, train_args
from test_data_formats import idx_bytes


def train(tiny_npz, out, *extra, epochs=2):
    return main(train_args(tiny_npz, out, epochs, TINY) + list(extra))


def test_train_writes_a_complete_run(tiny_npz, tmp_path, capsys):
    out = tmp_path / "run"
    assert train(tiny_npz, out) == 0
    for f in ("config.json", "model.json", "model.safetensors", "metrics.jsonl", "summary.json", "checkpoint.json"):
        assert (out / f).is_file(), f
    lines = [json.loads(s) for s in (out / "metrics.jsonl").read_text().splitlines()]
    assert [m["epoch"] for m in lines] == [1, 2]
    assert {"recon_loss", "disc_loss", "gen_loss", "disc_acc", "lr_recon", "seconds"} <= set(lines[0])
    summary = json.loads((out / "summary.json").read_text())
    assert {"recon_mse", "prior_mmd", "train_seconds", "samples_per_second"} <= set(summary)
    assert 0 < summary["recon_mse"] < 1
    for f in ("latent.png", "samples.png", "reconstructions.png", "manifold.png"):
        assert (out / "figures" / f).stat().st_size > 1000
    assert json.loads((out / "config.json").read_text())["network"]["hidden"] == [32]
    # weights are plain safetensors
    assert any(k.startswith("encoder.") for k in load_file(out / "model.safetensors"))
    assert "run written to" in capsys.readouterr().out


def test_encode_sample_plot(tiny_npz, tmp_path, capsys):
    out = tmp_path / "run"
    train(tiny_npz, out)
    assert main(["sample", str(out), "-n", "2", "--label", "0", "-o", str(tmp_path / "s.npy")]) == 2
    err = capsys.readouterr().err  # a model without classes names itself and presets that have them
    assert "(model 'aae', prior 'gaussian') samples no classes" in err and "mnist-supervised-style" in err
    assert main(["encode", str(out), "--split", "test", "-o", str(tmp_path / "codes.npy")]) == 0
    codes = np.load(tmp_path / "codes.npy")
    assert codes.shape == (30, 2) and np.isfinite(codes).all()
    assert main(["sample", str(out), "-n", "7", "-o", str(tmp_path / "s.npy")]) == 0
    s = np.load(tmp_path / "s.npy")
    assert s.shape == (7, 64) and s.min() >= 0 and s.max() <= 1
    assert main(["sample", str(out), "-n", "9", "-o", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").stat().st_size > 100
    (out / "figures" / "latent.png").unlink()
    assert main(["plot", str(out)]) == 0
    assert (out / "figures" / "latent.png").is_file()


def test_label_conditioned_run_reports_label_match(tiny_npz, tmp_path):
    out = tmp_path / "run"
    assert (
        train(
            tiny_npz,
            out,
            "--set",
            'prior={"name": "mixture"}',
            "--set",
            "aae.use_labels=true",
            "--set",
            "data.n_labeled=100",
        )
        == 0
    )
    summary = json.loads((out / "summary.json").read_text())
    assert 0 <= summary["label_match"] <= 1
    assert main(["sample", str(out), "-n", "4", "--label", "3", "-o", str(tmp_path / "three.npy")]) == 0


def test_resume_continues_to_the_same_weights(tiny_npz, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    train(tiny_npz, a, epochs=3)
    train(tiny_npz, b, epochs=2)
    assert main(["train", "mnist-gaussian-2d", "--out", str(b), "--resume", "--epochs", "3", "--quiet"]) == 0
    wa, wb = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)
    assert len((b / "metrics.jsonl").read_text().splitlines()) == 3


def test_existing_run_is_not_clobbered(tiny_npz, tmp_path, capsys):
    out = tmp_path / "run"
    train(tiny_npz, out)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    capsys.readouterr()
    assert train(tiny_npz, out) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert before == {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert train(tiny_npz, out, "--overwrite", epochs=1) == 0


def bad_shape_sampler(n, generator=None):
    return np.zeros((n, 3))


@pytest.mark.parametrize(
    "args, msg",
    [
        (["train", "no-such-preset"], "unknown preset 'no-such-preset'"),
        (["train", "mnist-gaussian-2d", "--set", "epochz=3"], "unknown config key 'epochz'"),
        (
            ["train", "mnist-gaussian-2d", "--set", 'prior={"name": "mixture"}', "--set", "network.code_dim=3"],
            "dimension 2 but the code size is 3",
        ),
        (
            ["train", "mnist-gaussian-2d", "--set", 'prior={"name": "test_cli:bad_shape_sampler"}'],
            r"returned shape \(2, 3\)",
        ),
        (["train", "mnist-gaussian-2d", "--set", 'data.dataset="missing.npz"'], "data file not found"),
        (["encode", "no/such/run", "-o", "x.npy"], "run directory no/such/run does not exist"),
        (["report", "no/such/run"], "run directory no/such/run does not exist"),
        (["train", "c.yaml"], "unknown preset 'c.yaml'"),
    ],
)
def test_user_errors_are_one_line(args, msg, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(args + ["--quiet"] if args[0] == "train" else args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert __import__("re").search(msg, err), err
    assert not (tmp_path / "runs").exists()  # nothing written for a refused run


def test_nan_input_is_refused(tmp_path, capsys):
    x = np.random.default_rng(0).random((50, 16)).astype(np.float32)
    x[7, 3] = np.nan
    np.save(tmp_path / "nan.npy", x)
    assert (
        main(
            [
                "train",
                "mnist-gaussian-2d",
                "--out",
                str(tmp_path / "r"),
                "--quiet",
                "--set",
                f'data.dataset="{tmp_path / "nan.npy"}"',
            ]
        )
        == 2
    )
    assert "NaN or Inf values (first at row 7, column 3)" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_corrupt_model_file_is_refused(tiny_npz, tmp_path, capsys):
    out = tmp_path / "run"
    train(tiny_npz, out, epochs=1)
    blob = (out / "model.safetensors").read_bytes()
    (out / "model.safetensors").write_bytes(blob[:100])
    assert main(["sample", str(out), "-o", str(tmp_path / "s.npy")]) == 2
    assert "sha256" in capsys.readouterr().err


def test_module_entry_point_help():
    r = subprocess.run([sys.executable, "-m", "aae", "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    for cmd in ("train", "presets", "encode", "sample", "plot", "eval", "report"):
        assert cmd in r.stdout
    r = subprocess.run([sys.executable, "-m", "aae", "presets"], capture_output=True, text=True, timeout=60)
    assert "mnist-swissroll-2d-labels" in r.stdout and "Fig. 4c" in r.stdout


def cat_args(npz, out, preset, *sets, epochs=2):
    args = ["train", preset, "--out", str(out), "--epochs", str(epochs), "--quiet"]
    for s in [f'data.dataset="{npz}"', *TINY, "network.hidden=[32, 32]", *sets]:
        args += ["--set", s]
    return args


@pytest.mark.parametrize(
    "preset, sets",
    [
        ("mnist-semisupervised-100", ["data.n_labeled=50"]),
        ("mnist-clusters-16", []),
    ],
)
def test_classifying_runs_report_test_error_and_classify(tiny_npz, tmp_path, preset, sets):
    out = tmp_path / "run"
    assert main(cat_args(tiny_npz, out, preset, *sets)) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert 0 <= summary["test_error"] <= 100
    for f in ("clusters.png", "styles.png", "latent.png", "reconstructions.png"):
        assert (out / "figures" / f).stat().st_size > 500, f
    assert main(["classify", str(out), "--split", "test", "-o", str(tmp_path / "pred.npy")]) == 0
    pred = np.load(tmp_path / "pred.npy")
    y = np.load(tiny_npz)["y"]
    y_test = y[array_split_rows(len(y), 30)[2]]  # the test split's rows of the file, in its order
    assert pred.shape == (30,) and pred.dtype == np.int64 and set(pred) <= set(range(10))
    # the CLI's predictions are the ones summary.json's test_error was computed from
    assert abs(100 * float((pred != y_test).mean()) - summary["test_error"]) < 1e-9
    # and the confusion matrix too: row = true class, column = predicted
    confusion = np.array(summary["test_confusion"])
    expected = np.zeros_like(confusion)
    np.add.at(expected, (y_test, pred), 1)
    assert confusion.shape == (10, 10) and (confusion == expected).all()
    assert main(["sample", str(out), "-n", "4", "--label", "9", "-o", str(tmp_path / "s.npy")]) == 0


def test_the_presets_named_for_label_sampling_exist():
    from aae.cli import LABEL_PRESETS
    from aae.presets import PRESETS

    assert set(LABEL_PRESETS) <= set(PRESETS)


def test_supervised_run_samples_a_class(tiny_npz, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(cat_args(tiny_npz, out, "mnist-supervised-style", "network.code_dim=3")) == 0
    assert (out / "figures" / "styles.png").is_file()
    assert main(["sample", str(out), "-n", "4", "--label", "3", "-o", str(tmp_path / "s.npy")]) == 0
    assert np.load(tmp_path / "s.npy").shape == (4, 64)
    assert main(["sample", str(out), "-n", "4", "--label", "10", "-o", str(tmp_path / "s.npy")]) == 2
    assert "out of range: the model has 10 classes" in capsys.readouterr().err
    assert main(["classify", str(out), "-o", str(tmp_path / "p.npy")]) == 2
    assert "no classifier" in capsys.readouterr().err


def test_semisupervised_bad_labels_are_one_line_errors(tiny_npz, tmp_path, capsys):
    cases = [
        (["data.n_labeled=1000"], "n_labeled=1000 labels asked for, but the training split has only 240"),
        (["network.n_clusters=5"], "has 1 output(s) per class (10)"),
    ]
    for sets, msg in cases:
        assert main(cat_args(tiny_npz, tmp_path / "r", "mnist-semisupervised-100", *sets)) == 2
        assert msg in capsys.readouterr().err
    assert main(cat_args(tiny_npz, tmp_path / "r", "mnist-clusters-16", "network.n_clusters=4")) == 2
    assert "fewer than the 10 classes" in capsys.readouterr().err
    # a class with no labeled example (sklearn's convention: -1 = unlabeled)
    d = np.load(tiny_npz)
    y = d["y"].copy()
    y[y == 4] = -1
    np.savez(tmp_path / "no4.npz", x=d["x"], y=y)
    assert main(cat_args(tmp_path / "no4.npz", tmp_path / "r", "mnist-semisupervised-all")) == 2
    assert "class(es) [4] have no labeled training example" in capsys.readouterr().err
    y[0] = -3
    np.savez(tmp_path / "neg.npz", x=d["x"], y=y)
    assert main(cat_args(tmp_path / "neg.npz", tmp_path / "r", "mnist-semisupervised-all")) == 2
    assert "-1 for an unlabeled example; got -3" in capsys.readouterr().err


def test_conv_run_and_conv_on_tabular_data(tiny_npz, tmp_path, capsys):
    out = tmp_path / "conv"
    conv = ["--set", 'network.arch="conv"', "--set", "network.channels=[4,8]"]
    assert train(tiny_npz, out, *conv, epochs=1) == 0
    assert main(["sample", str(out), "-n", "3", "-o", str(tmp_path / "s.npy")]) == 0  # rebuilt from model.json
    assert np.load(tmp_path / "s.npy").shape == (3, 64)
    np.save(tmp_path / "flat.npy", np.random.default_rng(0).random((60, 15)).astype(np.float32))
    capsys.readouterr()
    assert main(train_args(tmp_path / "flat.npy", tmp_path / "r", 1, TINY) + conv) == 2
    assert "network.arch='conv' needs image data" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("preset", ["mnist-dimred-10d-100", "mnist-dimred-2d-100"])  # fixed / learned heads
def test_dimred_run_draws_its_representation(tiny_npz, tmp_path, preset):
    out = tmp_path / "run"
    assert main(cat_args(tiny_npz, out, preset, "data.n_labeled=50")) == 0
    assert (out / "figures" / "representation.png").stat().st_size > 1000
    summary = json.loads((out / "summary.json").read_text())
    assert 0 <= summary["test_error"] <= 100
    lines = [json.loads(s) for s in (out / "metrics.jsonl").read_text().splitlines()]
    assert all(0 <= m["val_error"] <= 100 for m in lines)  # the classifier's learning curve


def test_eval_parzen_adds_to_the_summary(tiny_npz, tmp_path, capsys):
    out = tmp_path / "run"
    train(tiny_npz, out, epochs=1)
    before = json.loads((out / "summary.json").read_text())
    assert main(["eval", str(out), "--parzen", "--n-samples", "300"]) == 0
    after = json.loads((out / "summary.json").read_text())
    assert {k: after[k] for k in before} == before  # same test metrics, other keys kept
    assert np.isfinite(after["parzen_ll"]) and 0 < after["parzen_sem"] < 10 and after["parzen_sigma"] > 0
    assert "parzen_ll" in capsys.readouterr().out
    # a second evaluation with the same seed writes the same numbers
    assert main(["eval", str(out), "--parzen", "--n-samples", "300"]) == 0
    assert json.loads((out / "summary.json").read_text()) == after


def test_eval_validation_leaves_the_test_split_unread(tiny_npz, tmp_path):
    from dataclasses import replace

    from aae.runs import evaluate_validation, load_run, parzen_run, run_splits

    out = tmp_path / "run"
    train(tiny_npz, out, "--set", "model=semisupervised", "--set", "data.n_labeled=50", epochs=1)
    before = json.loads((out / "summary.json").read_text())
    assert main(["eval", str(out), "--validation", "--parzen", "--n-samples", "300"]) == 0
    after = json.loads((out / "summary.json").read_text())
    assert {k: after[k] for k in before} == before  # the test metrics untouched, none added
    assert "parzen_ll" not in after and after["parzen_sigma"] > 0 and np.isfinite(after["parzen_val_ll"])
    assert 0 < after["val_recon_mse"] < 1 and 0 <= after["val_error"] <= 100
    # the same σ and validation likelihood as the full evaluation, which also reads the test split
    assert main(["eval", str(out), "--parzen", "--n-samples", "300"]) == 0
    full = json.loads((out / "summary.json").read_text())
    assert (full["parzen_sigma"], full["parzen_val_ll"]) == (after["parzen_sigma"], after["parzen_val_ll"])
    # a test split of NaN would poison any number read from it
    run = load_run(out)
    splits = run_splits(run)
    poisoned = replace(splits, x_test=torch.full_like(splits.x_test, float("nan")))
    metrics = {**evaluate_validation(run, poisoned), **parzen_run(run, poisoned, 300, test=False)}
    assert all(np.isfinite(v) for v in metrics.values())
    assert metrics["val_error"] == after["val_error"]


def test_eval_errors_are_one_line(tiny_npz, tmp_path, capsys):
    out = tmp_path / "run"
    train(tiny_npz, out, epochs=1)
    capsys.readouterr()
    assert main(["eval", str(out), "--parzen", "--n-samples", "10"]) == 2
    assert "at least as many samples as dimensions: got 10 samples of dimension 64" in capsys.readouterr().err
    noval = tmp_path / "noval"
    train(tiny_npz, noval, "--set", "data.validation=0", epochs=1)
    capsys.readouterr()
    assert main(["eval", str(noval), "--parzen"]) == 2
    assert "validation split" in capsys.readouterr().err
    assert main(["eval", str(noval), "--validation"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: run ") and "no validation split" in err and err.count("\n") == 1


@pytest.mark.parametrize("preset, penalty", [("mnist-wae-mmd-2d", "mmd"), ("mnist-vae-2d", "kl")])
def test_penalty_presets_train_and_resume(preset, penalty, tiny_npz, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for out, epochs in ((a, 2), (b, 1)):
        args = ["train", preset, "--out", str(out), "--epochs", str(epochs), "--quiet"]
        for s in [f'data.dataset="{tiny_npz}"', *TINY]:
            args += ["--set", s]
        assert main(args) == 0
    lines = [json.loads(s) for s in (a / "metrics.jsonl").read_text().splitlines()]
    assert {"recon_loss", penalty, "loss"} <= set(lines[0]) and "disc_loss" not in lines[0]
    assert main(["train", "--resume", str(b), "--epochs", "2", "--quiet"]) == 0
    wa, wb = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)
    summary = json.loads((a / "summary.json").read_text())
    assert 0 < summary["recon_mse"] < 1 and np.isfinite(summary["prior_mmd"])


def test_report_command_writes_the_page(tiny_npz, tmp_path):
    out = tmp_path / "run"
    train(tiny_npz, out, epochs=1)
    assert main(["report", str(out)]) == 0
    page = (out / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "recon_mse" in page
    assert main(["report", str(out), "-o", str(tmp_path / "r.txt")]) == 2


def old_layout(cfg: dict) -> dict:
    """A config dict as versions before the per-family tables wrote it."""
    old = {k: v for k, v in cfg.items() if k not in ("optim", "aae", "wae", "vae", "semisupervised", "dimred")}
    old.update({phase: o for phase, o in cfg["optim"].items()})
    old["regularize"] = cfg["model"] != "autoencoder"
    old["regularizer"] = {"wae": "mmd", "vae": "kl"}.get(cfg["model"], "adversarial")
    old["model"] = "aae" if cfg["model"] in ("autoencoder", "wae", "vae") else cfg["model"]
    old["mmd_lambda"], old["mmd_kernel"] = cfg["wae"]["weight"], cfg["wae"]["kernel"]
    old["use_labels"], old["kl_weight"] = cfg["aae"]["use_labels"], cfg["vae"]["kl_weight"]
    old["data"] = {k: v for k, v in cfg["data"].items() if k != "split"}  # those versions split files in order
    return old


@pytest.mark.parametrize("model", ["wae", "autoencoder"])
def test_runs_written_in_the_old_config_layout_load_and_resume(tiny_npz, tmp_path, capsys, model):
    out = tmp_path / "run"
    assert (
        train(tiny_npz, out, "--set", f"model={model}", "--set", "wae.weight=3", "--set", "data.split=file-order") == 0
    )
    new = tmp_path / "new.npy"
    assert main(["sample", str(out), "-n", "5", "-o", str(new)]) == 0
    for name in ("model.json", "config.json"):
        desc = json.loads((out / name).read_text())
        if name == "model.json":
            desc["config"] = old_layout(desc["config"])
        else:
            desc = old_layout(desc)
        (out / name).write_text(json.dumps(desc))
    old = tmp_path / "old.npy"
    assert main(["sample", str(out), "-n", "5", "-o", str(old)]) == 0
    np.testing.assert_array_equal(np.load(new), np.load(old))
    assert main(["train", "--resume", str(out), "--epochs", "3", "--quiet"]) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["model"] == model and cfg["wae"]["weight"] == 3 and "regularizer" not in cfg
    assert cfg["data"]["split"] == "file-order"  # the rows it was trained on, not today's shuffled split


def write_mnist_folder(folder: Path, n_train: int = 300, n_test: int = 60) -> dict[str, str]:
    """A small MNIST in IDX format (28 x 28, the tiny images' classes) in ``folder/mnist``; returns its sha256 table."""
    x, y = make_tiny_images(n_train + n_test, side=28)
    arrays = {
        "train-images-idx3-ubyte.gz": x[:n_train],
        "train-labels-idx1-ubyte.gz": y[:n_train],
        "t10k-images-idx3-ubyte.gz": x[n_train:],
        "t10k-labels-idx1-ubyte.gz": y[n_train:],
    }
    (folder / "mnist").mkdir(parents=True)
    sums = {}
    for name, arr in arrays.items():
        blob = gzip.compress(idx_bytes(arr))
        (folder / "mnist" / name).write_bytes(blob)
        sums[name] = hashlib.sha256(blob).hexdigest()
    return sums


def test_a_run_remembers_its_data_dir(tmp_path, monkeypatch, capsys):
    """Trained with --data-dir, a run resumes, encodes, classifies, plots and evaluates without it;
    --data-dir still overrides where its data are read from."""
    from aae.data import catalog, fetch

    data = tmp_path / "data"
    monkeypatch.setitem(catalog.CHECKSUMS, "mnist", write_mnist_folder(data))
    monkeypatch.setitem(catalog.SIZES, "mnist", {})

    def no_download(url, *args, **kwargs):  # only --data-dir holds the data: nothing is fetched
        raise AAEError(f"no download in this test ({url})")

    monkeypatch.setattr(fetch, "download", no_download)
    out = tmp_path / "run"
    args = ["train", "mnist-semisupervised-100", "--out", str(out), "--epochs", "1", "--quiet"]
    for s in [*TINY, "network.hidden=[32, 32]", "data.n_labeled=50"]:
        args += ["--set", s]
    assert main([*args, "--data-dir", str(data)]) == 0
    assert json.loads((out / "model.json").read_text())["data_dir"] == str(data.resolve())
    assert main(["train", "--resume", str(out), "--epochs", "2", "--quiet"]) == 0
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2
    assert main(["encode", str(out), "-o", str(tmp_path / "codes.npy")]) == 0
    assert np.load(tmp_path / "codes.npy").shape[0] == 60
    assert main(["classify", str(out), "-o", str(tmp_path / "pred.npy")]) == 0
    assert np.load(tmp_path / "pred.npy").shape == (60,)
    assert main(["plot", str(out)]) == 0
    assert main(["eval", str(out)]) == 0
    # moved elsewhere, the data are found only where --data-dir says
    moved = tmp_path / "moved"
    data.rename(moved)
    capsys.readouterr()
    assert main(["eval", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: mnist file") and str(data) in err and err.count("\n") == 1
    assert main(["eval", str(out), "--data-dir", str(moved)]) == 0
    assert main(["classify", str(out), "--data-dir", str(moved), "-o", str(tmp_path / "pred2.npy")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "pred.npy"), np.load(tmp_path / "pred2.npy"))


def test_files_of_a_run_follow_the_umask(tiny_npz, tmp_path):
    out = tmp_path / "run"
    previous = os.umask(0o022)
    try:
        assert train(tiny_npz, out, epochs=1) == 0
        assert main(["report", str(out)]) == 0
    finally:
        os.umask(previous)
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {"model.safetensors", "metrics.jsonl", "report.html", "checkpoint.json", "latent.png"} <= {
        p.name for p in files
    }
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == {p.name: "0o644" for p in files}


def test_resuming_a_finished_run_does_nothing(tiny_npz, tmp_path, capsys):
    out = tmp_path / "run"
    assert train(tiny_npz, out, epochs=2) == 0
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()}
    capsys.readouterr()
    start = time.perf_counter()
    assert main(["train", "--resume", str(out), "--quiet"]) == 0
    assert main(["train", "--resume", str(out), "--epochs", "1", "--quiet"]) == 0
    assert time.perf_counter() - start < 2  # no data loaded, nothing evaluated or drawn
    printed = capsys.readouterr().out
    assert printed.count(f"run {out} is complete: 2 epochs trained") == 2 and "resumed" not in printed
    assert before == {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()}
    # more epochs: it trains on
    assert main(["train", "--resume", str(out), "--epochs", "3", "--quiet"]) == 0
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 3


def test_every_option_has_help_and_shows_its_default(capsys):
    from aae import __version__
    from aae.cli import build_parser

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"aae {__version__}"
    parsers = [build_parser()]
    for p in parsers:
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                parsers += list(action.choices.values())
            elif action.dest not in ("help", "version"):
                assert action.help, f"{p.prog} {action.option_strings or action.dest} has no help text"
    assert len(parsers) == 17  # aae, its 11 commands, data list/download/verify, sweep run/show
    for command, shown in [
        (["encode"], ["(default: test)", "(default: 0)"]),
        (["sample"], ["number of samples (default: 100)", "seed of the prior samples (default: 0)"]),
        (["eval"], ["(default: 10000)"]),
    ]:
        assert main([*command, "--help"]) == 0
        page = capsys.readouterr().out
        assert all(s in " ".join(page.split()) for s in shown), page
        assert "(default: None)" not in page and "(default: False)" not in page


@pytest.mark.parametrize(
    "args, msg",
    [
        (["encode", "run"], "aae encode: the following arguments are required: -o/--output"),
        (["train", "--epochs", "x"], "aae train: argument --epochs: invalid int value: 'x'"),
        (["frobnicate"], "aae: argument COMMAND: invalid choice: 'frobnicate'"),
    ],
)
def test_usage_errors_are_one_line(args, msg, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {msg}") and err.count("\n") == 1, err


def test_the_docs_show_every_command_s_help():
    """docs/hooks.py renders the parser's help into docs/cli.md at its marker: every command, each option."""
    spec = importlib.util.spec_from_file_location("docs_hooks", Path(__file__).parents[1] / "docs" / "hooks.py")
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    page = (Path(__file__).parents[1] / "docs" / "cli.md").read_text()
    assert hooks.CLI_MARKER in page
    rendered = hooks.on_page_markdown(page, None, None, None)
    for command in ("train", "presets", "encode", "sample", "classify", "plot", "eval", "report", "data list"):
        assert f"### `aae {command}`" in rendered and f"usage: aae {command}" in rendered
    for option in ("--data-dir DIR", "--resume [RUN]", "--n-samples N", "--label CLASS", "--version"):
        assert option in rendered


@pytest.mark.parametrize("model", ["aae", "semisupervised"])
def test_the_progress_bar_keeps_30_columns_in_120(monkeypatch, model):
    import re

    from aae import training
    from aae.config import Config, apply_overrides
    from aae.models import build_model

    sets = ["network.hidden=[16]", "network.disc_hidden=[16]", "batch_size=10", 'device="cpu"', f"model={model}"]
    cfg = apply_overrides(Config(), sets)
    x, y = torch.rand(1200, 64), torch.arange(1200) % 10
    trainer = training.Trainer(build_model(cfg, 64, 10, (8, 8)), cfg, x, y)
    screen = io.StringIO()
    bar = training.tqdm
    monkeypatch.setattr(
        training, "tqdm", lambda *a, **k: bar(*a, **{**k, "file": screen, "dynamic_ncols": False, "ncols": 120})
    )
    assert trainer.fit(1, progress=True)
    lines = [s for s in re.split(r"[\r\n]", screen.getvalue()) if "recon=" in s]
    assert lines, screen.getvalue()
    for line in lines:
        assert len(line) <= 120 and len(line.split("|")[1]) >= 30, line
    assert re.search(r"recon=[0-9.]+ disc=[0-9.]+ gen=[0-9.]+", lines[-1]), lines[-1]


def test_label_seed_fixes_the_labeled_examples_across_seeds(tiny_npz, tmp_path):
    from aae.runs import load_run, run_splits

    def labeled(name, *sets):
        out = tmp_path / name
        assert main(cat_args(tiny_npz, out, "mnist-semisupervised-100", "data.n_labeled=20", *sets, epochs=1)) == 0
        return (run_splits(load_run(out)).y_train >= 0).nonzero().flatten().tolist()

    a, b = labeled("a", "seed=0"), labeled("b", "seed=1")
    assert len(a) == len(b) == 20 and a != b  # by default each seed draws its own labels
    assert labeled("c", "seed=1", "data.label_seed=0") == a  # the labels of seed 0, trained with seed 1


@pytest.mark.parametrize("preset", ["mnist-vat-100", "mnist-imsat-10"])
def test_a_component_preset_trains_evaluates_and_says_it_has_no_codes(preset, tiny_npz, tmp_path, capsys):
    """The components alone (q(y|x) only) train, are scored, and refuse what needs codes with one error line."""
    out = tmp_path / "run"
    args = ["train", preset, "--out", str(out), "--epochs", "2", "--quiet", "--set", f'data.dataset="{tiny_npz}"']
    for s in ["network.hidden=[32]", "batch_size=20", "labeled_batch_size=10", "data.validation=30"]:
        args += ["--set", s]
    if preset == "mnist-vat-100":
        args += ["--set", "data.n_labeled=20"]
    assert main(args) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert 0 <= summary["test_error"] <= 100 and "recon_mse" not in summary
    lines = [json.loads(s) for s in (out / "metrics.jsonl").read_text().splitlines()]
    if preset == "mnist-imsat-10":
        assert 0 <= summary["test_error_hungarian"] <= 100
        assert all(0 <= m["val_error_hungarian"] <= 100 for m in lines)
    assert not list((out / "figures").glob("*.png"))
    capsys.readouterr()
    assert main(["encode", str(out), "--split", "test", "-o", str(tmp_path / "codes.npy")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "has no codes, decoder or prior" in err and "Traceback" not in err
    assert not (tmp_path / "codes.npy").exists()


def test_float_data_outside_the_decoders_range_is_refused_before_anything_is_written(tmp_path, capsys):
    """Float images in [0, 255] train a sigmoid decoder into NaN; they are refused, naming the range and the fixes."""
    x, y = make_tiny_images()
    npz = tmp_path / "pixels.npz"
    np.savez(npz, x=x.astype(np.float32), y=y)  # 0-255 as floats
    out = tmp_path / "run"
    assert main(train_args(npz, out, 1, TINY)) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "[0, 255]" in err and "data.standardize=true" in err and "x / 255" in err
    assert not out.exists()
    # the fix the message names trains
    fix = ["--set", "data.standardize=true", "--set", "network.output=linear"]
    assert main(train_args(npz, out, 1, TINY) + fix) == 0
