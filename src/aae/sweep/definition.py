"""The sweep definition (``sweep.toml``), the configs of its trials and the objective's value."""

import dataclasses
import json
import math
import re
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aae.config import Config, apply_overrides, load_config_file
from aae.errors import AAEError

SWEEP_FILE = "sweep.toml"
STUDY_FILE = "study.db"
TRIALS_DIR = "trials"
#: search-space distributions: a table with exactly one of these keys
DISTRIBUTIONS = ("choice", "uniform", "log-uniform", "int")
#: where the objective's value comes from: the best or last value of a metrics.jsonl column, or summary.json
SOURCES = ("best", "last", "summary")
DIRECTIONS = ("minimize", "maximize")
PRUNERS = ("median", "halving", "none")
SAMPLERS = ("tpe", "random")
#: this many failed trials in a row (and none finished between them) stop the sweep: something is wrong for all
MAX_FAILURES_IN_ROW = 3
#: a trial whose process stopped sending heartbeats this long ago is failed by any worker (seconds)
HEARTBEAT_INTERVAL, GRACE_PERIOD = 60, 180


def _optuna():
    try:
        import optuna
    except ImportError as e:
        raise AAEError(f"sweeps need the optuna package ({e}); install it with: pip install 'aae[sweep]'") from e
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # run_sweep prints its own line per trial
    return optuna


# ---------------------------------------------------------------- the definition


@dataclass
class Param:
    """One searched config key and its distribution."""

    key: str
    kind: str  # one of DISTRIBUTIONS
    low: float | int | None = None
    high: float | int | None = None
    choices: list[Any] = field(default_factory=list)
    step: float | int | None = None
    log: bool = False

    @property
    def encoded(self) -> bool:
        """Choices Optuna cannot store as they are (lists, tables) are stored as JSON text."""
        return self.kind == "choice" and not all(isinstance(c, (bool, int, float, str)) for c in self.choices)

    def suggest(self, trial) -> Any:
        """The value of this key for ``trial`` (a config value: JSON choices decoded)."""
        if self.kind == "choice":
            if self.encoded:
                return json.loads(trial.suggest_categorical(self.key, [json.dumps(c) for c in self.choices]))
            return trial.suggest_categorical(self.key, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(self.key, int(self.low), int(self.high), step=int(self.step or 1), log=self.log)
        return trial.suggest_float(self.key, self.low, self.high, step=self.step, log=self.kind == "log-uniform")

    def decode(self, stored: Any) -> Any:
        """A config value from the value Optuna stored for this key."""
        return json.loads(stored) if self.encoded and isinstance(stored, str) else stored

    def extremes(self) -> list[Any]:
        """The values checked before the sweep starts: every choice, or both ends of the range."""
        return list(self.choices) if self.kind == "choice" else [self.low, self.high]


@dataclass
class Objective:
    metric: str = "val_error"
    source: str = "best"  # one of SOURCES
    direction: str = "minimize"


@dataclass
class Pruning:
    pruner: str = "median"  # one of PRUNERS
    min_epochs: int = 1  # the earliest epoch at which a trial can be pruned
    startup_trials: int = 3  # median: trials that finish before any is pruned
    reduction_factor: int = 3  # halving: keep 1 / reduction_factor of the trials at each rung
    metric: str | None = None  # the per-epoch column watched (default: the objective's metric)


@dataclass
class SweepDefinition:
    """What ``sweep.toml`` holds (see docs/sweeps.md for the format)."""

    directory: Path
    base: str  # a preset name, or a .toml/.json config file (relative to the sweep directory)
    search: list[Param]
    name: str = ""  # the study's name (default: the directory's name)
    trials: int = 20  # finished trials to reach
    epochs: int | None = None  # epochs per trial (default: the base config's)
    set: list[str] = field(default_factory=list)  # fixed --set overrides
    seed: int = 0  # the sampler's seed
    sampler: str = "tpe"
    objective: Objective = field(default_factory=Objective)
    pruning: Pruning = field(default_factory=Pruning)
    enqueue: list[dict[str, Any]] = field(default_factory=list)  # trials to run first

    def param(self, key: str) -> Param | None:
        return next((p for p in self.search if p.key == key), None)


_TOP_KEYS = {"name", "base", "trials", "epochs", "set", "seed", "sampler", "objective", "pruning", "search", "enqueue"}


def _flatten(table: dict[str, Any], prefix: str, is_leaf) -> dict[str, Any]:
    """``{"network": {"code_dim": x}}`` and ``{"network.code_dim": x}`` alike as dotted keys."""
    out: dict[str, Any] = {}
    for k, v in table.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and not is_leaf(v):
            out.update(_flatten(v, key + ".", is_leaf))
        else:
            out[key] = v
    return out


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise AAEError(f"{what} must be a number, got {value!r}")
    return value


def _parse_param(key: str, spec: Any) -> Param:
    where = f"sweep.toml [search] {key!r}"
    if not isinstance(spec, dict):
        raise AAEError(f"{where}: expected a distribution such as {{ choice = [1, 2] }}, got {spec!r}")
    spec = {("log-uniform" if k == "log_uniform" else k): v for k, v in spec.items()}
    kinds = [k for k in spec if k in DISTRIBUTIONS]
    if len(kinds) != 1:
        raise AAEError(f"{where}: give exactly one of {', '.join(DISTRIBUTIONS)}, got {sorted(spec)}")
    kind = kinds[0]
    extra = sorted(set(spec) - {kind, "step", "log"})
    if extra:
        raise AAEError(f"{where}: unknown option(s) {extra}; a distribution takes step (uniform, int) and log (int)")
    value = spec[kind]
    if kind == "choice":
        if not isinstance(value, list) or not value:
            raise AAEError(f"{where}: choice takes a non-empty list, got {value!r}")
        if "step" in spec or "log" in spec:
            raise AAEError(f"{where}: choice takes neither step nor log")
        return Param(key, kind, choices=list(value))
    if not isinstance(value, list) or len(value) != 2:
        raise AAEError(f"{where}: {kind} takes [low, high], got {value!r}")
    low, high = (_number(v, f"{where}: {kind} bounds") for v in value)
    if not low < high:
        raise AAEError(f"{where}: {kind} needs low < high, got {value!r}")
    step, log = spec.get("step"), spec.get("log", False)
    if not isinstance(log, bool) or (log and kind != "int"):
        raise AAEError(f"{where}: log = true applies to int only (use log-uniform for floats)")
    if step is not None:
        if kind == "log-uniform" or log:
            raise AAEError(f"{where}: step cannot be combined with a log scale")
        if _number(step, f"{where}: step") <= 0:
            raise AAEError(f"{where}: step must be > 0, got {step!r}")
    if kind == "int":
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high)):
            raise AAEError(f"{where}: int takes integer bounds, got {value!r}")
        if step is not None and not isinstance(step, int):
            raise AAEError(f"{where}: int takes an integer step, got {step!r}")
    if (kind == "log-uniform" or log) and low <= 0:
        raise AAEError(f"{where}: a log scale needs low > 0, got {low!r}")
    return Param(key, kind, low=low, high=high, step=step, log=log)


def _table(d: dict, key: str, cls: type, allowed: dict[str, tuple]) -> Any:
    raw = d.get(key, {})
    if not isinstance(raw, dict):
        raise AAEError(f"sweep.toml: [{key}] must be a table, got {raw!r}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - names)
    if unknown:
        raise AAEError(f"sweep.toml: unknown key(s) {unknown} in [{key}]; known: {sorted(names)}")
    obj = cls(**raw)
    for name, choices in allowed.items():
        if getattr(obj, name) not in choices:
            raise AAEError(f"sweep.toml: [{key}] {name} must be one of {', '.join(map(str, choices))}, "
                           f"got {getattr(obj, name)!r}")  # fmt: skip
    return obj


def parse_definition(d: dict[str, Any], directory: Path) -> SweepDefinition:
    """A :class:`SweepDefinition` from the parsed TOML ``d`` of the sweep in ``directory``."""
    unknown = sorted(set(d) - _TOP_KEYS)
    if unknown:
        raise AAEError(f"sweep.toml: unknown key(s) {unknown}; known: {sorted(_TOP_KEYS)}")
    if not isinstance(d.get("base"), str) or not d["base"]:
        raise AAEError("sweep.toml: base must name a preset (see `aae presets`) or a .toml/.json config file")
    search_raw = d.get("search")
    if not isinstance(search_raw, dict) or not search_raw:
        raise AAEError("sweep.toml: [search] must hold at least one config key with its distribution")

    def is_distribution(v: dict) -> bool:
        return any(k in DISTRIBUTIONS or k == "log_uniform" for k in v)

    search = [_parse_param(k, v) for k, v in _flatten(search_raw, "", is_distribution).items()]
    for key, kind in (("trials", int), ("seed", int), ("name", str), ("sampler", str)):
        if key in d and (not isinstance(d[key], kind) or isinstance(d[key], bool)):
            raise AAEError(f"sweep.toml: {key} must be {'an integer' if kind is int else 'a string'}, got {d[key]!r}")
    epochs = d.get("epochs")
    if epochs is not None and (not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1):
        raise AAEError(f"sweep.toml: epochs must be an integer >= 1, got {epochs!r}")
    sets = d.get("set", [])
    if not isinstance(sets, list) or not all(isinstance(s, str) and "=" in s for s in sets):
        raise AAEError(f'sweep.toml: set must be a list of "key=value" strings, got {sets!r}')
    enqueue_raw = d.get("enqueue", [])
    if not isinstance(enqueue_raw, list) or not all(isinstance(e, dict) for e in enqueue_raw):
        raise AAEError("sweep.toml: enqueue must be an array of tables ([[enqueue]])")
    keys = {p.key for p in search}
    enqueue = []
    for e in enqueue_raw:
        flat = _flatten(e, "", lambda v: False)
        bad = sorted(set(flat) - keys)
        if bad:
            raise AAEError(f"sweep.toml: [[enqueue]] key(s) {bad} are not searched; [search] holds {sorted(keys)}")
        enqueue.append(flat)
    defn = SweepDefinition(
        directory=Path(directory),
        base=d["base"],
        search=search,
        name=d.get("name") or Path(directory).resolve().name,
        trials=d.get("trials", 20),
        epochs=epochs,
        set=list(sets),
        seed=d.get("seed", 0),
        sampler=d.get("sampler", "tpe"),
        objective=_table(d, "objective", Objective, {"source": SOURCES, "direction": DIRECTIONS}),
        pruning=_table(d, "pruning", Pruning, {"pruner": PRUNERS}),
        enqueue=enqueue,
    )
    if defn.trials < 1:
        raise AAEError(f"sweep.toml: trials must be >= 1, got {defn.trials}")
    if defn.sampler not in SAMPLERS:
        raise AAEError(f"sweep.toml: sampler must be one of {', '.join(SAMPLERS)}, got {defn.sampler!r}")
    p = defn.pruning
    if not isinstance(p.min_epochs, int) or p.min_epochs < 1 or p.startup_trials < 0 or p.reduction_factor < 2:
        raise AAEError("sweep.toml: [pruning] needs min_epochs >= 1, startup_trials >= 0, reduction_factor >= 2")
    return defn


def load_definition(sweep_dir: str | Path) -> SweepDefinition:
    """Read ``<sweep_dir>/sweep.toml``."""
    path = Path(sweep_dir) / SWEEP_FILE
    if not path.is_file():
        raise AAEError(f"{path} not found: a sweep directory holds its definition in {SWEEP_FILE} "
                       "(start one with: aae sweep run DIR --from definition.toml)")  # fmt: skip
    try:
        d = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise AAEError(f"cannot parse {path}: {e}") from e
    return parse_definition(d, Path(sweep_dir))


def start_sweep_dir(sweep_dir: str | Path, definition: str | Path) -> None:
    """Create ``sweep_dir`` with a copy of ``definition`` as its ``sweep.toml`` (a relative
    ``base`` file is rewritten to stay valid); an identical copy already there is fine."""
    src, sweep_dir = Path(definition), Path(sweep_dir)
    if not src.is_file():
        raise AAEError(f"sweep definition {src} not found")
    text = src.read_text()
    try:
        d = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise AAEError(f"cannot parse {src}: {e}") from e
    parse_definition(d, sweep_dir)  # refuse a bad definition before creating anything
    base = d.get("base", "")
    if base.endswith((".toml", ".json")) and not Path(base).is_absolute():
        resolved = (src.parent / base).resolve()
        text = re.sub(r"(?m)^base\s*=.*$", lambda _: f"base = {json.dumps(str(resolved))}", text, count=1)
    target = sweep_dir / SWEEP_FILE
    if target.is_file():
        if target.read_text() != text:
            raise AAEError(f"{target} exists and differs from {src}; run the sweep without --from to continue it")
        return
    sweep_dir.mkdir(parents=True, exist_ok=True)
    target.write_text(text)


# ---------------------------------------------------------------- configs of trials


def _override(key: str, value: Any) -> str:
    return f"{key}={json.dumps(value)}"


def base_config(defn: SweepDefinition) -> Config:
    """The base preset or config file with the fixed ``set`` overrides and ``epochs`` applied."""
    from aae.presets import PRESETS, get_preset

    base = defn.base
    if base.endswith((".toml", ".json")) and base not in PRESETS:
        path = Path(base) if Path(base).is_absolute() else defn.directory / base
        cfg = load_config_file(path)
    else:
        cfg = get_preset(base)
    overrides = list(defn.set)
    if defn.epochs is not None:
        overrides.append(f"epochs={defn.epochs}")
    return apply_overrides(cfg, overrides)


def trial_config(defn: SweepDefinition, params: dict[str, Any], threads: int = 0) -> Config:
    """The config of a trial: the base config with ``params`` (config values) on top.

    ``threads > 0`` sets ``threads`` unless the definition fixes it itself."""
    cfg = apply_overrides(base_config(defn), [_override(k, v) for k, v in params.items()])
    if threads > 0 and cfg.threads == 0 and defn.param("threads") is None:
        cfg = dataclasses.replace(cfg, threads=threads)
    return cfg


def check_definition(defn: SweepDefinition) -> None:
    """Check the base config and every choice / both ends of every range before a trial runs."""
    from aae.models import check_config

    check_config(base_config(defn))
    for p in defn.search:
        for v in p.extremes():
            try:
                check_config(trial_config(defn, {p.key: v}))
            except AAEError as e:
                raise AAEError(f"sweep.toml [search] {p.key!r} = {v!r}: {e}") from e
    for e in defn.enqueue:
        check_config(trial_config(defn, e))


def objective_value(obj: Objective, run_dir: Path, summary: dict[str, Any]) -> float:
    """The objective of a finished trial's run: from ``summary``, or the best/last value of a metrics.jsonl column."""
    if obj.source == "summary":
        if obj.metric not in summary:
            raise AAEError(f"objective metric {obj.metric!r} is not in summary.json; it holds {sorted(summary)}")
        return float(summary[obj.metric])
    rows = [json.loads(line) for line in (Path(run_dir) / "metrics.jsonl").read_text().splitlines() if line.strip()]
    values = [float(r[obj.metric]) for r in rows if isinstance(r.get(obj.metric), (int, float))]
    values = [v for v in values if math.isfinite(v)]
    if not values:
        columns = sorted({k for r in rows for k in r})
        raise AAEError(f"objective metric {obj.metric!r} has no finite value in metrics.jsonl; columns: {columns}")
    if obj.source == "last":
        return values[-1]
    return min(values) if obj.direction == "minimize" else max(values)
