"""The Optuna study of a sweep: storage, sampler, pruner, dead trials, the objective, the worker processes."""

import json
import math
import multiprocessing
import os
import socket
from pathlib import Path
from typing import Any

from aae.errors import AAEError
from aae.sweep.definition import (
    GRACE_PERIOD,
    HEARTBEAT_INTERVAL,
    MAX_FAILURES_IN_ROW,
    STUDY_FILE,
    TRIALS_DIR,
    Param,
    Pruning,
    SweepDefinition,
    _optuna,
    check_definition,
    load_definition,
    objective_value,
    trial_config,
)


def default_storage(sweep_dir: str | Path) -> str:
    return f"sqlite:///{(Path(sweep_dir) / STUDY_FILE).resolve()}"


def _storage(url: str):
    optuna = _optuna()
    kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    try:
        return optuna.storages.RDBStorage(
            url,
            engine_kwargs=kwargs,
            heartbeat_interval=HEARTBEAT_INTERVAL,
            grace_period=GRACE_PERIOD,
            heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1),
        )
    except Exception as e:  # sqlalchemy: a bad URL, a missing driver, an unreachable server
        raise AAEError(f"cannot open the study storage {url}: {type(e).__name__}: {e}") from e


def _sampler(defn: SweepDefinition, seed: int):
    optuna = _optuna()
    if defn.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def _pruner(p: Pruning):
    optuna = _optuna()
    if p.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=p.startup_trials, n_warmup_steps=p.min_epochs)
    if p.pruner == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=p.min_epochs, reduction_factor=p.reduction_factor)
    return optuna.pruners.NopPruner()


def open_study(defn: SweepDefinition, storage: str | None = None, seed_offset: int = 0, create: bool = True):
    """The sweep's Optuna study (created on first use, with the ``[[enqueue]]`` trials queued)."""
    optuna = _optuna()
    if storage is None and not create and not (defn.directory / STUDY_FILE).is_file():
        raise AAEError(f"{defn.directory} holds no study yet ({STUDY_FILE}); run the sweep first (aae sweep run)")
    url = storage or default_storage(defn.directory)
    st = _storage(url)
    sampler, pruner = _sampler(defn, defn.seed + seed_offset), _pruner(defn.pruning)
    try:
        if create:
            study = optuna.create_study(
                study_name=defn.name,
                storage=st,
                sampler=sampler,
                pruner=pruner,
                direction=defn.objective.direction,
                load_if_exists=True,
            )
        else:
            study = optuna.load_study(study_name=defn.name, storage=st, sampler=sampler, pruner=pruner)
    except KeyError as e:
        raise AAEError(f"no study named {defn.name!r} in {url}; run the sweep first (aae sweep run)") from e
    if study.direction.name.lower() != defn.objective.direction:
        raise AAEError(f"study {defn.name!r} in {url} was created to {study.direction.name.lower()}; "
                       f"sweep.toml now says {defn.objective.direction}")  # fmt: skip
    if create and defn.enqueue and not study.user_attrs.get("enqueued"):
        study.set_user_attr("enqueued", True)
        for params in defn.enqueue:
            study.enqueue_trial({k: _stored(defn.param(k), v) for k, v in params.items()})
    return study, st


def _stored(p: Param, value: Any) -> Any:
    return json.dumps(value) if p.encoded else value


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fail_dead_trials(study, storage, log=print) -> list[int]:
    """Mark failed the running trials of this machine whose process is gone, and queue their
    parameters once more (as Optuna's heartbeat does for other machines after its grace period)."""
    optuna = _optuna()
    host, failed = socket.gethostname(), []
    study_id = storage.get_study_id_from_name(study.study_name)
    retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1)
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        pid = t.user_attrs.get("pid")
        if t.user_attrs.get("host") != host or not isinstance(pid, int) or _alive(pid):
            continue
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, t.number)
        try:
            storage.set_trial_user_attr(trial_id, "error", f"process {pid} on {host} ended while the trial ran")
            storage.set_trial_state_values(trial_id, state=optuna.trial.TrialState.FAIL)
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # another worker got there first
        retry(study, storage.get_trial(trial_id))
        failed.append(t.number)
    if failed:
        log(f"trial(s) {failed}: their process is gone; marked failed, parameters queued once more")
    return failed


def _finished(study) -> int:
    optuna = _optuna()
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return len(study.get_trials(deepcopy=False, states=states))


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _format(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return json.dumps(v) if not isinstance(v, str) else v


def make_objective(
    defn: SweepDefinition, data_dir: str | None, threads: int, track: tuple[str | None, str | None], log, verbose: bool
):
    """The Optuna objective: train one trial into ``trials/<number>`` and return its value."""
    optuna = _optuna()
    from aae.runs import TrainingStopped, train_run
    from aae.tracking import make_tracker

    obj, prune = defn.objective, defn.pruning
    watched = prune.metric or obj.metric
    running_best = obj.source == "best" and watched == obj.metric
    sign = 1.0 if obj.direction == "minimize" else -1.0

    def objective(trial) -> float:
        trial.set_user_attr("host", socket.gethostname())
        trial.set_user_attr("pid", os.getpid())
        params = {p.key: p.suggest(trial) for p in defn.search}
        out = defn.directory / TRIALS_DIR / str(trial.number)
        trial.set_user_attr("run_dir", str(Path(TRIALS_DIR) / str(trial.number)))
        best: list[float] = []
        pruned: list[int] = []

        def on_epoch(m: dict) -> bool:
            epoch = int(m["epoch"])
            if obj.source != "summary" and epoch == 1 and obj.metric not in m:
                raise AAEError(f"objective metric {obj.metric!r} is not a column of metrics.jsonl; "
                               f"columns: {sorted(m)}")  # fmt: skip
            value = m.get(watched)
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                return True
            if running_best:  # the intermediate value of a "best" objective is the best so far
                if best:
                    value = min(value, best[0]) if sign > 0 else max(value, best[0])
                best[:] = [value]
            trial.report(float(value), epoch)
            if trial.should_prune():
                pruned.append(epoch)
                return False
            return True

        def trial_log(msg: str) -> None:
            if verbose:
                log(f"trial {trial.number}: {msg}")

        try:
            cfg = trial_config(defn, params, threads)
            tracker = make_tracker(track[0], out, cfg, track[1])
            summary = train_run(cfg, out, data_dir, overwrite=True, progress=False, log=trial_log,
                                on_epoch=on_epoch, tracker=tracker)  # fmt: skip
        except TrainingStopped as e:
            if pruned:
                objective.failed_in_row = 0
                raise optuna.TrialPruned(f"pruned after epoch {pruned[0]}") from None
            # a signal: the sweep stops, this trial is marked failed
            raise TrainingStopped(
                f"sweep stopped by a signal in trial {trial.number} (marked failed; its run {out} is resumable); "
                f"run the same `aae sweep run {defn.directory}` to continue the study",
                signum=e.exit_code - 128,
            ) from e
        except AAEError as e:  # bad values for this combination, NaN, missing data: this trial fails, the sweep goes on
            trial.set_user_attr("error", str(e))
            objective.errors.append(f"trial {trial.number}: {e}")
            objective.failed_in_row += 1
            if objective.failed_in_row >= MAX_FAILURES_IN_ROW:
                raise AAEError(
                    f"{objective.failed_in_row} trials in a row failed; the last, {objective.errors[-1]}"
                ) from e
            return float("nan")
        objective.failed_in_row = 0
        if pruned:  # asked to stop at the last epoch: it trained in full, but is pruned all the same
            raise optuna.TrialPruned(f"pruned after epoch {pruned[0]}")
        return objective_value(obj, out, summary)

    objective.errors = []  # the messages of the trials that failed
    objective.failed_in_row = 0
    return objective


def _report(log):
    def callback(study, trial) -> None:
        params = " ".join(f"{k}={_format(v)}" for k, v in trial.params.items())
        state = trial.state.name.lower()
        if trial.state.name == "COMPLETE":
            value = f"value={trial.value:.6g}"
        elif trial.intermediate_values:
            step = max(trial.intermediate_values)
            value = f"epoch {step}: {trial.intermediate_values[step]:.6g}"
        else:
            value = trial.user_attrs.get("error", "")
        log(f"trial {trial.number} {state}: {value}  {params}")

    return callback


def run_sweep(
    sweep_dir: str | Path,
    storage: str | None = None,
    jobs: int = 1,
    trials: int | None = None,
    data_dir: str | None = None,
    track: str | None = None,
    mlflow_uri: str | None = None,
    log=print,
    verbose: bool = True,
    _worker: int = 0,
    _share: int | None = None,
) -> int:
    """Run the sweep in ``sweep_dir`` until its study holds ``trials`` (default: sweep.toml's)
    finished trials; returns how many it holds. See the module docstring."""
    optuna = _optuna()
    defn = load_definition(sweep_dir)
    total = trials if trials is not None else defn.trials
    if total < 1:
        raise AAEError(f"--trials must be >= 1, got {total}")
    if jobs < 1:
        raise AAEError(f"--jobs must be >= 1, got {jobs}")
    if _worker == 0:
        check_definition(defn)
    study, st = open_study(defn, storage)
    if _worker == 0:
        fail_dead_trials(study, st, log)
    done = _finished(study)
    remaining = total - done
    if remaining <= 0:
        if _worker == 0:
            log(f"study {defn.name!r} already holds {done} finished trials (asked for {total})")
        return done
    if jobs > 1 and _worker == 0:
        return _run_workers(defn, storage, jobs, total, remaining, data_dir, track, mlflow_uri, verbose, log)
    # each process draws differently: the seed moves on with the trials already run and the worker
    study, st = open_study(defn, storage, seed_offset=len(study.trials) + 7919 * _worker)
    threads = max(1, _cores() // jobs) if jobs > 1 else 0
    objective = make_objective(defn, data_dir, threads, (track, mlflow_uri), log, verbose)
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    if _worker == 0:
        log(f"study {defn.name!r}: {done} of {total} trials finished; running {remaining} more")
    budget = _share if _share is not None else remaining
    while budget > 0:  # a failed trial is made up for (MAX_FAILURES_IN_ROW bounds the failures)
        failures = len(objective.errors)
        study.optimize(
            objective,
            n_trials=budget,
            callbacks=[optuna.study.MaxTrialsCallback(total, states=states), _report(log)],
            gc_after_trial=False,
        )
        budget = min(len(objective.errors) - failures, total - _finished(study))
    done = _finished(study)
    if _worker == 0:
        failed = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.FAIL,)))
        log(f"study {defn.name!r}: {done} of {total} trials finished" + (f", {failed} failed" if failed else ""))
        if done < total:
            log("run the same command again to continue")
    return done


def _worker_main(sweep_dir, storage, jobs, total, share, data_dir, track, mlflow_uri, verbose, index) -> None:
    import sys

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    try:
        run_sweep(
            sweep_dir, storage, jobs, total, data_dir, track, mlflow_uri, log, verbose, _worker=index, _share=share
        )
    except AAEError as e:
        log(f"error: worker {index}: {e}")
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)


def _run_workers(defn, storage, jobs, total, remaining, data_dir, track, mlflow_uri, verbose, log) -> int:
    """``jobs`` processes on the shared storage, sharing the remaining trials between them."""
    ctx = multiprocessing.get_context("spawn")
    shares = [remaining // jobs + (1 if i < remaining % jobs else 0) for i in range(jobs)]
    log(f"study {defn.name!r}: {total - remaining} of {total} trials finished; running {remaining} more "
        f"in {jobs} processes of {max(1, _cores() // jobs)} threads")  # fmt: skip
    procs = []
    for i, share in enumerate(shares):
        if share == 0:
            continue
        args = (str(defn.directory), storage, jobs, total, share, data_dir, track, mlflow_uri, verbose, i + 1)
        p = ctx.Process(target=_worker_main, args=args, name=f"aae-sweep-{i + 1}")
        p.start()
        procs.append(p)
    try:
        for p in procs:
            p.join()
    except KeyboardInterrupt:  # the workers got the same SIGINT: let them write their checkpoints
        for p in procs:
            p.join()
        raise
    study, _ = open_study(defn, storage)
    done = _finished(study)
    log(f"study {defn.name!r}: {done} of {total} trials finished")
    bad = [p.exitcode for p in procs if p.exitcode]
    if bad:
        raise AAEError(f"{len(bad)} of {len(procs)} worker processes failed (exit codes {bad}); see their messages")
    return done
