"""Tracking (aae.tracking): TensorBoard event files and MLflow runs of a short training run on tiny data."""

from __future__ import annotations

import argparse
import json
import sys

import pytest

from aae.config import apply_overrides
from aae.errors import AAEError
from aae.presets import get_preset
from aae.runs import TrainingStopped, resume_config, train_run
from aae.tracking import flatten_config, make_tracker
from conftest import TINY

QUIET = dict(progress=False, log=lambda *a: None)


def tiny_cfg(npz, epochs: int = 3):
    return apply_overrides(get_preset("mnist-gaussian-2d"), [f'data.dataset="{npz}"', *TINY, f"epochs={epochs}"])


def metrics_rows(run):
    return [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]


def test_tensorboard_events_hold_every_epoch_the_learning_rates_and_the_figures(tmp_path, tiny_npz):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg, run = tiny_cfg(tiny_npz), tmp_path / "run"
    # stopped after epoch 2 and resumed: the events of both processes read as one run
    with pytest.raises(TrainingStopped):
        train_run(cfg, run, tracker=make_tracker("tensorboard", run, cfg), on_epoch=lambda m: m["epoch"] < 2, **QUIET)
    cfg = resume_config(run)
    train_run(cfg, run, resume=True, tracker=make_tracker("tensorboard", run, cfg), **QUIET)

    events = EventAccumulator(str(run / "tensorboard"), size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    tags = events.Tags()
    rows = metrics_rows(run)
    assert len(rows) == 3
    for key in ("recon_loss", "disc_loss", "gen_loss", "lr_recon", "lr_disc", "lr_gen"):
        scalars = events.Scalars(key)
        assert [s.step for s in scalars] == [1, 2, 3], key
        assert [s.value for s in scalars] == pytest.approx([r[key] for r in rows], rel=1e-6), key
    summary = json.loads((run / "summary.json").read_text())
    assert events.Scalars("summary/recon_mse")[-1].value == pytest.approx(summary["recon_mse"], rel=1e-6)
    assert {"figures/latent", "figures/samples"} <= set(tags["images"])
    assert "config" in "".join(tags.get("tensors", []))  # the config as text


def test_mlflow_run_holds_params_metrics_and_figures(tmp_path, tiny_npz, monkeypatch):
    pytest.importorskip("mlflow")
    from mlflow import MlflowClient

    monkeypatch.chdir(tmp_path)  # the default tracking URI: a database in ./mlruns
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    cfg, run = tiny_cfg(tiny_npz, epochs=2), tmp_path / "run"
    with pytest.raises(TrainingStopped):  # stopped after epoch 1, then resumed: one MLflow run throughout
        train_run(cfg, run, tracker=make_tracker("mlflow", run, cfg), on_epoch=lambda m: False, **QUIET)
    memo = json.loads((run / "mlflow.json").read_text())
    assert memo["tracking_uri"] == f"sqlite:///{tmp_path.resolve() / 'mlruns' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=memo["tracking_uri"])
    assert client.get_run(memo["run_id"]).info.status == "KILLED"
    cfg = resume_config(run)
    train_run(cfg, run, resume=True, tracker=make_tracker("mlflow", run, cfg), **QUIET)
    assert json.loads((run / "mlflow.json").read_text()) == memo
    got = client.get_run(memo["run_id"])
    assert got.info.status == "FINISHED"
    assert got.info.run_name == "run"
    assert client.get_experiment(got.info.experiment_id).name == cfg.name
    assert got.data.params == flatten_config(cfg)
    assert got.data.params["network.hidden"] == "[32]"
    rows = metrics_rows(run)
    for key in ("recon_loss", "lr_recon", "disc_acc"):
        history = sorted(client.get_metric_history(memo["run_id"], key), key=lambda m: m.step)
        assert [m.step for m in history] == [1, 2], key
        assert [m.value for m in history] == pytest.approx([r[key] for r in rows]), key
    summary = json.loads((run / "summary.json").read_text())
    assert got.data.metrics["summary/recon_mse"] == pytest.approx(summary["recon_mse"])
    artifacts = {a.path for a in client.list_artifacts(memo["run_id"], "figures")}
    assert {"figures/latent.png", "figures/samples.png"} <= artifacts
    assert (tmp_path / "mlruns" / "artifacts").is_dir()  # beside the database, not in the working folder


def test_no_tracker_is_made_without_log_and_unknown_kinds_are_refused(tmp_path):
    cfg = get_preset("mnist-gaussian-2d")
    assert make_tracker(None, tmp_path, cfg) is None
    assert make_tracker("none", tmp_path, cfg) is None
    with pytest.raises(AAEError, match="unknown --log 'wandb'"):
        make_tracker("wandb", tmp_path, cfg)
    with pytest.raises(AAEError, match="--mlflow-uri needs --log mlflow"):
        make_tracker("tensorboard", tmp_path, cfg, uri="sqlite:///x.db")
    assert not any(tmp_path.iterdir())  # nothing written before the first epoch


@pytest.mark.parametrize("kind, module, extra", [("tensorboard", "torch.utils.tensorboard", "aae[tensorboard]"),
                                                 ("mlflow", "mlflow", "aae[mlflow]")])  # fmt: skip
def test_a_missing_package_names_the_extra(tmp_path, monkeypatch, kind, module, extra):
    monkeypatch.setitem(sys.modules, module, None)  # as if not installed: importing it raises ImportError
    with pytest.raises(AAEError, match=rf"pip install '{extra.replace('[', '.').replace(']', '.')}'"):
        make_tracker(kind, tmp_path, get_preset("mnist-gaussian-2d"))


def test_tracking_arguments_parse():
    from aae.sweep_cli import add_tracking_arguments

    p = argparse.ArgumentParser()
    add_tracking_arguments(p)
    args = p.parse_args(["--log", "tensorboard,mlflow", "--mlflow-uri", "sqlite:///m.db"])
    assert (args.log, args.mlflow_uri) == ("tensorboard,mlflow", "sqlite:///m.db")
    assert p.parse_args([]).log is None
