"""The allowed values of the shared config keys, as small rules: ``rules(cfg)`` lists (key, value, rule).

A model family's own table brings its rules (:meth:`~aae.config.schema.FamilyTable.rules`, in
``aae/models/<family>/config.py``), written with the helpers here (:func:`at_least`, :func:`below`,
:func:`one_of`, :func:`each`); ``rules(cfg)`` lists them after the shared ones, under the table's name.
"""

from __future__ import annotations

import math
import typing
from typing import Any

if typing.TYPE_CHECKING:
    from aae.config.schema import Config, OptimConfig

ENCODER_KINDS = ("deterministic", "gaussian", "universal")
ARCHS = ("mlp", "conv")
OUTPUTS = ("sigmoid", "linear")
OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("constant", "step", "exponential")
RECON_LOSSES = ("mse", "l1", "bce")
PRECISIONS = ("float32", "bf16", "auto")
ON_NAN = ("stop", "rollback")
SPLIT_ORDERS = ("shuffled", "file-order")  # aae.data.splits.ARRAY_SPLITS (config does not import data)

# what the decoder and the cost need when the data are standardized (aae.networks refuses the first too)
STANDARDIZE_NEEDS_LINEAR = (
    "data.standardize=true needs a linear decoder output (--set network.output=linear): the decoder "
    "predicts standardized values, which a sigmoid cannot reach"
)
STANDARDIZE_NOT_BCE = (
    "data.standardize=true and recon_loss='bce' do not go together: binary cross-entropy needs "
    "targets in [0, 1]; use recon_loss='mse' (or 'l1')"
)

#: a rule: the value -> what is wrong with it (it ends "config key 'k': value ..."), or None
Rule = typing.Callable[[Any], "str | None"]


def at_least(low: float, strict: bool = False) -> Rule:
    """A finite number >= ``low`` (> with ``strict``)."""

    def rule(v: Any) -> str | None:
        if isinstance(v, float) and not math.isfinite(v):
            return "must be a finite number"
        if v < low or (strict and v == low):
            return f"must be {'>' if strict else '>='} {low:g}"
        return None

    return rule


def below(high: float, low: float = 0.0) -> Rule:
    """A number in [``low``, ``high``)."""

    def rule(v: Any) -> str | None:
        if not (math.isfinite(v) and low <= v < high):
            return f"must be in [{low:g}, {high:g})"
        return None

    return rule


def one_of(choices: tuple[str, ...]) -> Rule:
    """One of ``choices``."""
    return lambda v: None if v in choices else f"is not one of {list(choices)}"


def each(rule: Rule, nonempty: bool = False) -> Rule:
    """A list whose every item passes ``rule`` (and that has one at least, with ``nonempty``)."""

    def check(values: list) -> str | None:
        if nonempty and not values:
            return "must not be empty"
        for v in values:
            problem = rule(v)
            if problem:
                return f"holds {v!r}, which {problem}"
        return None

    return check


def _device(v: str) -> str | None:
    if v in ("auto", "cpu", "cuda") or (v.startswith("cuda:") and v[5:].isdigit()):
        return None
    return "is not auto, cpu, cuda or cuda:N"


def _optim_rules(name: str, o: OptimConfig) -> list[tuple[str, Any, Rule]]:
    k = f"optim.{name}."
    return [
        (k + "name", o.name, one_of(OPTIMIZERS)),
        (k + "lr", o.lr, at_least(0, strict=True)),
        (k + "momentum", o.momentum, below(1)),
        (
            k + "betas",
            o.betas,
            lambda b: None if len(b) == 2 and not each(below(1))(b) else "must be two numbers in [0, 1)",
        ),
        (k + "weight_decay", o.weight_decay, at_least(0)),
        (k + "clip_norm", o.clip_norm, at_least(0)),
    ]


def rules(c: Config) -> list[tuple[str, Any, Rule]]:
    """(key, value, rule) for every value of ``c``, the families' tables' too; a rule returns what is wrong, or None."""
    n, d, s = c.network, c.data, c.schedule
    positive_int, count = at_least(1), at_least(0)
    rules: list[tuple[str, Any, Rule]] = [
        ("name", c.name, lambda v: None if v.strip() else "must not be empty"),
        ("model", c.model, lambda v: None if v.strip() else "must not be empty"),
        ("recon_loss", c.recon_loss, one_of(RECON_LOSSES)),
        ("labeled_batch_size", c.labeled_batch_size, count),
        ("schedule.kind", s.kind, one_of(SCHEDULES)),
        ("schedule.milestones", s.milestones, each(positive_int)),
        ("schedule.gamma", s.gamma, at_least(0, strict=True)),
        ("schedule.warmup_steps", s.warmup_steps, count),
        ("epochs", c.epochs, positive_int),
        ("batch_size", c.batch_size, positive_int),
        ("seed", c.seed, count),
        ("device", c.device, _device),
        ("precision", c.precision, one_of(PRECISIONS)),
        ("threads", c.threads, count),
        ("checkpoint_every", c.checkpoint_every, count),
        ("checkpoint_minutes", c.checkpoint_minutes, at_least(0)),
        ("on_nan", c.on_nan, one_of(ON_NAN)),
        ("data.dataset", d.dataset, lambda v: None if v.strip() else "must not be empty"),
        ("data.validation", d.validation, count),
        ("data.fold", d.fold, lambda v: None if 0 <= v <= 4 else "must be 0, 1, 2, 3 or 4"),
        ("data.n_labeled", d.n_labeled, lambda v: None if v == -1 or v >= 1 else "must be -1 (all) or >= 1"),
        ("data.split", d.split, one_of(SPLIT_ORDERS)),
        ("data.label_seed", d.label_seed, lambda v: None if v >= -1 else "must be -1 (the run's seed) or >= 0"),
        ("network.code_dim", n.code_dim, positive_int),
        ("network.encoder", n.encoder, one_of(ENCODER_KINDS)),
        ("network.noise_dim", n.noise_dim, count),
        ("network.arch", n.arch, one_of(ARCHS)),
        ("network.hidden", n.hidden, each(positive_int)),
        ("network.channels", n.channels, each(positive_int, nonempty=True)),
        ("network.disc_hidden", n.disc_hidden, each(positive_int)),
        ("network.output", n.output, one_of(OUTPUTS)),
        ("network.init_std", n.init_std, at_least(0)),
        ("network.dropout", n.dropout, below(1)),
        ("network.decoder_dropout", n.decoder_dropout, below(1)),
        ("network.input_noise", n.input_noise, at_least(0)),
        ("network.input_dropout", n.input_dropout, below(1)),
        ("network.input_shift", n.input_shift, at_least(0)),
        ("network.disc_noise", n.disc_noise, at_least(0)),
        (
            "network.n_clusters",
            n.n_clusters,
            lambda v: None if v == 0 or v >= 2 else "must be 0 (one per class) or >= 2",
        ),
        ("ema", c.ema, below(1)),
    ]
    for family, table in c.families.items():
        rules += [(f"{family}.{key}", value, rule) for key, value, rule in table.rules(c)]
    if n.encoder == "universal":
        rules.append(
            ("network.noise_dim", n.noise_dim, lambda v: None if v >= 1 else "must be >= 1 for the universal encoder")
        )
    for name, o in c.optim.items():
        rules += _optim_rules(name, o)
    return rules


def conflict(c: Config) -> str | None:
    """What is wrong with settings that are each allowed but do not go together, or None."""
    if c.data.standardize and c.network.output != "linear":
        return STANDARDIZE_NEEDS_LINEAR
    if c.data.standardize and c.recon_loss == "bce":
        return STANDARDIZE_NOT_BCE
    return None
