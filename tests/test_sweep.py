"""Sweeps (aae.sweep, aae.sweep_cli) and the on_epoch hook of train_run, on tiny data."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from aae.config import apply_overrides, load_config_file
from aae.errors import AAEError
from aae.presets import get_preset

optuna = pytest.importorskip("optuna")

from aae.sweep import (  # noqa: E402
    STUDY_FILE,
    check_definition,
    fail_dead_trials,
    load_definition,
    open_study,
    parse_definition,
    run_sweep,
    show_sweep,
    start_sweep_dir,
    to_toml,
    write_config_toml,
)
from aae.sweep_cli import add_parser, cmd_sweep  # noqa: E402
from conftest import TINY  # noqa: E402

FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)


LR = '"optim.recon.lr" = { log-uniform = [1e-6, 0.05] }'


def sweep_toml(npz: Path, trials: int = 4, epochs: int = 3, enqueue=(0.01, 0.02, 1e-6, 1e-6), search=LR) -> str:
    """A sweep of the learning rate of the tiny autoencoder: two good enqueued trials, then two
    with a learning rate too small to learn anything in an epoch (worse than the median: pruned)."""
    sets = ", ".join(json.dumps(s) for s in [f'data.dataset="{npz}"', *TINY, "threads=1"])
    text = f"""
base = "mnist-gaussian-2d"
trials = {trials}
epochs = {epochs}
set = [{sets}]

[objective]
metric = "recon_loss"
source = "best"
direction = "minimize"

[pruning]
pruner = "median"
startup_trials = 2
min_epochs = 1

[search]
{search}
"""
    for lr in enqueue:
        text += f'\n[[enqueue]]\n"optim.recon.lr" = {lr}\n'
    return text


def make_sweep(tmp_path: Path, npz: Path, **kw) -> Path:
    d = tmp_path / "sweep"
    d.mkdir()
    (d / "sweep.toml").write_text(sweep_toml(npz, **kw))
    return d


def load_study(d: Path):
    return optuna.load_study(study_name=d.name, storage=f"sqlite:///{d / STUDY_FILE}")


def test_sweep_killed_after_two_trials_resumes_prunes_and_its_best_config_trains(tmp_path, tiny_npz):
    from aae.cli import main

    d = make_sweep(tmp_path, tiny_npz)
    # the sweep in a process of its own, killed (SIGKILL: no checkpoint, no goodbye) in the middle of
    # its third trial, after that trial's first epoch
    code = f"""
import os, signal
import aae.runs
from aae.sweep import run_sweep

real = aae.runs.train_run

def train_run(cfg, out, *args, on_epoch=None, **kwargs):
    def hook(m):
        if out.name == "2":
            os.kill(os.getpid(), signal.SIGKILL)
        return on_epoch(m)
    return real(cfg, out, *args, on_epoch=hook, **kwargs)

aae.runs.train_run = train_run
run_sweep({str(d)!r}, verbose=False, log=lambda m: None)
"""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    study = load_study(d)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE", "RUNNING", "WAITING"]

    lines = []
    assert run_sweep(d, log=lines.append, verbose=False) == 4
    study = load_study(d)  # read back with Optuna's own API
    states = [t.state for t in study.trials]
    assert sum(s in FINISHED for s in states) == 4
    assert states[2] == optuna.trial.TrialState.FAIL  # the killed trial was marked failed...
    assert "ended while the trial ran" in study.trials[2].user_attrs["error"]
    retry = [t for t in study.trials if t.system_attrs.get("failed_trial") == 2]
    assert len(retry) == 1 and retry[0].params == study.trials[2].params  # ...and its parameters tried again
    assert retry[0].state in FINISHED
    pruned = study.get_trials(states=(optuna.trial.TrialState.PRUNED,))
    assert pruned, "the trials with a learning rate of 1e-6 are worse than the median and should be pruned"
    for t in pruned:
        assert t.params["optim.recon.lr"] == pytest.approx(1e-6)
        assert max(t.intermediate_values) < 3  # stopped before its last epoch
        run = d / "trials" / str(t.number)
        assert (run / "checkpoint.json").is_file() and not (run / "summary.json").exists()  # resumable
    complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    for t in complete:
        run = d / "trials" / str(t.number)
        rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
        assert t.value == pytest.approx(min(r["recon_loss"] for r in rows))  # the objective: best recon_loss
        assert (run / "summary.json").is_file()
    assert study.best_trial.params["optim.recon.lr"] in (pytest.approx(0.01), pytest.approx(0.02))

    # a second run finds the study complete and runs nothing
    assert run_sweep(d, log=lines.append, verbose=False) == 4
    assert len(load_study(d).trials) == len(study.trials)

    best, md = tmp_path / "best.toml", tmp_path / "best.md"
    out = []
    table = show_sweep(d, best_config_path=best, markdown=md, plots=tmp_path / "plots", log=out.append)
    assert table.splitlines()[0].split()[:3] == ["trial", "state", "recon_loss"]
    assert str(study.best_trial.number) == table.splitlines()[1].split()[0]
    assert md.read_text().startswith("| trial | state | `recon_loss` |")
    assert {p.name for p in (tmp_path / "plots").iterdir()} >= {
        "optimization_history.png",
        "param_importances.png",
        "parallel_coordinate.png",
    }
    cfg = load_config_file(best)
    assert cfg.optim["recon"].lr == pytest.approx(study.best_trial.params["optim.recon.lr"])
    assert main(["train", str(best), "--out", str(tmp_path / "from-best"), "--quiet"]) == 0
    assert (tmp_path / "from-best" / "summary.json").is_file()


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")
def test_a_dead_local_trial_is_failed_and_its_parameters_retried(tmp_path, tiny_npz):
    d = make_sweep(tmp_path, tiny_npz, enqueue=())
    defn = load_definition(d)
    study, storage = open_study(defn)
    trial = study.ask({"optim.recon.lr": optuna.distributions.FloatDistribution(1e-6, 0.05, log=True)})
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    import socket

    trial.set_user_attr("host", socket.gethostname())
    trial.set_user_attr("pid", int(dead.stdout))
    alive = study.ask()  # a running trial of a live process (this one) is left alone
    alive.set_user_attr("host", socket.gethostname())
    alive.set_user_attr("pid", os.getpid())
    assert fail_dead_trials(study, storage, log=lambda m: None) == [trial.number]
    trials = study.get_trials()
    assert trials[trial.number].state == optuna.trial.TrialState.FAIL
    assert trials[alive.number].state == optuna.trial.TrialState.RUNNING
    waiting = study.get_trials(states=(optuna.trial.TrialState.WAITING,))
    assert [t.params for t in waiting] == [trials[trial.number].params]


def test_parallel_jobs_share_the_study(tmp_path, tiny_npz):
    d = make_sweep(tmp_path, tiny_npz, trials=2, epochs=1, enqueue=())
    parser = argparse.ArgumentParser(prog="aae")
    add_parser(parser.add_subparsers(dest="command"))
    assert cmd_sweep(parser.parse_args(["sweep", "run", str(d), "--jobs", "2", "--quiet"])) == 0
    study = load_study(d)
    assert len(study.get_trials(states=FINISHED)) == 2
    assert len({t.user_attrs["pid"] for t in study.trials}) == 2  # one trial in each worker process
    for t in study.trials:
        assert json.loads((d / "trials" / str(t.number) / "config.json").read_text())["threads"] == 1  # set


def test_a_failing_trial_is_recorded_and_made_up_for(tmp_path, tiny_npz):
    search = '"optim.recon.lr" = { log-uniform = [1e-6, 1e11] }'
    d = make_sweep(tmp_path, tiny_npz, trials=2, epochs=1, enqueue=(0.01, 1e10, 0.02), search=search)  # 1e10: NaN
    lines = []
    assert run_sweep(d, log=lines.append, verbose=False) == 2
    study = load_study(d)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "FAIL", "COMPLETE"]
    assert "became nan" in study.trials[1].user_attrs["error"]  # the trainer's NaN check, kept as the trial's error
    assert any(line.startswith("trial 1 fail") for line in lines)


def test_trials_failing_in_a_row_stop_the_sweep(tmp_path, tiny_npz):
    d = make_sweep(tmp_path, tmp_path / "missing.npz", trials=5, enqueue=())
    with pytest.raises(AAEError, match=r"3 trials in a row failed; the last, trial 2: data file not found"):
        run_sweep(d, log=lambda m: None)
    assert [t.state.name for t in load_study(d).trials] == ["FAIL"] * 3


@pytest.mark.parametrize(
    "change, message",
    [
        ({"search": {}}, "at least one config key"),
        ({"search": {"network.code_dim": {"choice": []}}}, "non-empty list"),
        ({"search": {"network.code_dim": {"uniform": [3, 1]}}}, "low < high"),
        ({"search": {"optim.recon.lr": {"log-uniform": [0, 1]}}}, "low > 0"),
        ({"search": {"network.code_dim": {"int": [1, 4], "choice": [1]}}}, "exactly one"),
        ({"objective": {"source": "median"}}, "source must be one of"),
        ({"pruning": {"pruner": "fast"}}, "pruner must be one of"),
        ({"budget": 3}, "unknown key"),
        ({"enqueue": [{"network.code_dim": 3}]}, "not searched"),
    ],
)
def test_bad_definitions_are_refused_with_the_key(change, message):
    d = {"base": "mnist-gaussian-2d", "search": {"optim.recon.lr": {"log-uniform": [1e-4, 0.1]}}, **change}
    with pytest.raises(AAEError, match=message):
        parse_definition(d, Path("sweep"))


def test_nested_search_tables_and_choices_of_lists(tmp_path):
    defn = parse_definition(
        {
            "base": "mnist-gaussian-2d",
            "search": {"network": {"hidden": {"choice": [[32], [64, 64]]}, "code_dim": {"int": [2, 8], "step": 2}}},
        },
        tmp_path,
    )
    assert [p.key for p in defn.search] == ["network.hidden", "network.code_dim"]
    study = optuna.create_study()
    trial = study.ask()
    hidden = defn.search[0].suggest(trial)
    assert hidden in ([32], [64, 64])  # stored by Optuna as JSON text, given back as the list


def test_a_search_value_the_config_refuses_stops_the_sweep_before_any_trial(tmp_path, tiny_npz):
    d = make_sweep(tmp_path, tiny_npz, enqueue=(), search='"network.code_dim" = { int = [0, 3] }')
    with pytest.raises(AAEError, match="network.code_dim"):
        run_sweep(d, log=lambda m: None)
    assert not (d / "trials").exists()


def test_toml_writer_round_trips_every_preset_config(tmp_path):
    from aae.presets import PRESETS

    for name in PRESETS:
        cfg = apply_overrides(get_preset(name), ['data.dataset="a \\"quoted\\" path.npz"', "optim.recon.lr=1e-05"])
        p = tmp_path / f"{name}.toml"
        write_config_toml(cfg, p, "a comment\nover two lines")
        assert load_config_file(p) == cfg, name
    assert to_toml({"a": {"b": {"c": 1}}, "x": [1.5, "s"]}) == 'x = [1.5, "s"]\n\n[a.b]\nc = 1\n'


def test_start_sweep_dir_copies_the_definition_once(tmp_path, tiny_npz):
    src = tmp_path / "def.toml"
    src.write_text(sweep_toml(tiny_npz))
    start_sweep_dir(tmp_path / "s", src)
    start_sweep_dir(tmp_path / "s", src)  # the same definition again: fine
    assert (tmp_path / "s" / "sweep.toml").read_text() == src.read_text()
    src.write_text(sweep_toml(tiny_npz, trials=9))
    with pytest.raises(AAEError, match="differs"):
        start_sweep_dir(tmp_path / "s", src)


def test_cli_parser_and_show_before_any_run(tmp_path, tiny_npz, capsys):
    parser = argparse.ArgumentParser(prog="aae")
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["sweep", "run", "DIR", "--jobs", "3", "--storage", "postgresql://h/db", "--trials", "7"])
    assert (args.sweep_command, args.dir, args.jobs, args.storage, args.trials) == (
        "run",
        Path("DIR"),
        3,
        "postgresql://h/db",
        7,
    )
    args = parser.parse_args(["sweep", "show", "DIR", "--best-config", "b.toml", "--markdown", "t.md", "--top", "3"])
    assert (args.best_config, args.markdown, args.top) == (Path("b.toml"), Path("t.md"), 3)
    d = make_sweep(tmp_path, tiny_npz)
    with pytest.raises(AAEError, match="holds no study yet"):
        cmd_sweep(parser.parse_args(["sweep", "show", str(d)]))
    assert not (d / STUDY_FILE).exists()  # showing wrote nothing
    with pytest.raises(AAEError, match="no study named 'sweep'"):
        cmd_sweep(parser.parse_args(["sweep", "show", str(d), "--storage", f"sqlite:///{tmp_path / 'other.db'}"]))
    with pytest.raises(AAEError, match="sweep.toml not found"):
        cmd_sweep(parser.parse_args(["sweep", "run", str(tmp_path / "nothing")]))


def test_on_epoch_returning_false_stops_resumably_and_the_resumed_run_matches(tmp_path, tiny_npz):
    from aae.runs import TrainingStopped, resume_config, train_run

    cfg = apply_overrides(get_preset("mnist-gaussian-2d"), [f'data.dataset="{tiny_npz}"', *TINY, "epochs=3"])
    seen = []

    def stop_after_first(m: dict) -> bool:
        seen.append(m)
        return m["epoch"] < 1

    quiet = dict(progress=False, log=lambda *a: None)
    with pytest.raises(TrainingStopped, match="on_epoch") as stopped:
        train_run(cfg, tmp_path / "a", on_epoch=stop_after_first, **quiet)
    steps = json.loads((tmp_path / "a" / "checkpoint.json").read_text())["step"]
    assert f"after epoch 1 of 3, step {steps};" in str(stopped.value)

    assert [m["epoch"] for m in seen] == [1] and "recon_loss" in seen[0]
    assert json.loads((tmp_path / "a" / "checkpoint.json").read_text())["epoch"] == 1
    assert len((tmp_path / "a" / "metrics.jsonl").read_text().splitlines()) == 1
    said = []
    train_run(resume_config(tmp_path / "a"), tmp_path / "a", resume=True, progress=False, log=said.append)
    assert f"resumed {tmp_path / 'a'} after epoch 1 of 3, step {steps}" in said  # one numbering for both
    train_run(cfg, tmp_path / "b", **quiet)

    def losses(run):
        return [json.loads(x)["recon_loss"] for x in (run / "metrics.jsonl").read_text().splitlines()]

    assert losses(tmp_path / "a") == losses(tmp_path / "b")  # exactly as if never stopped


@pytest.mark.parametrize(
    "name",
    [
        "mnist-semisupervised-100.toml",
        "mnist-clusters-16.toml",
        "mnist-semisupervised-100-vat.toml",
        "mnist-clusters-16-imsat.toml",
    ],
)
def test_the_benchmark_sweep_definitions_are_valid(name, tmp_path):
    src = Path(__file__).resolve().parents[1] / "benchmarks" / "sweeps" / name
    start_sweep_dir(tmp_path / "s", src)
    defn = load_definition(tmp_path / "s")
    check_definition(defn)  # every choice and both ends of every range make a valid config
    assert defn.objective.metric == "val_error" and defn.pruning.pruner == "median"
    assert defn.enqueue and set(defn.enqueue[0]) == {p.key for p in defn.search}  # the preset itself, first


@pytest.mark.parametrize("path", sorted((Path(__file__).parents[1] / "benchmarks" / "sweeps").glob("*.toml")), ids=str)
def test_the_shipped_sweep_definitions_parse_and_pass_their_checks(path, tmp_path):
    """Every definition under benchmarks/sweeps/ starts: its base, fixed settings, both ends of
    every range and its enqueued trials make valid configs."""
    import tomllib

    defn = parse_definition(tomllib.loads(path.read_text()), tmp_path)
    check_definition(defn)
    assert defn.search and defn.objective.metric
