"""The allowed values of every config key, as small rules: ``rules(cfg)`` lists (key, value, rule)."""

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
MMD_KERNELS = ("imq", "rbf")
HEADS = ("learned", "identity")
PRECISIONS = ("float32", "bf16", "auto")
ON_NAN = ("stop", "rollback")
SPLIT_ORDERS = ("shuffled", "file-order")  # aae.data.splits.ARRAY_SPLITS (config does not import data)


Rule = typing.Callable[[Any], "str | None"]


def _at_least(low: float, strict: bool = False) -> Rule:
    def rule(v: Any) -> str | None:
        if isinstance(v, float) and not math.isfinite(v):
            return "must be a finite number"
        if v < low or (strict and v == low):
            return f"must be {'>' if strict else '>='} {low:g}"
        return None

    return rule


def _teacher_needs_ema(ema: float) -> Rule:
    def rule(v: Any) -> str | None:
        return "needs the weight average as its teacher: set ema > 0" if v > 0 and not ema > 0 else None

    return rule


def _below(high: float, low: float = 0.0) -> Rule:
    def rule(v: Any) -> str | None:
        if not (math.isfinite(v) and low <= v < high):
            return f"must be in [{low:g}, {high:g})"
        return None

    return rule


def _one_of(choices: tuple[str, ...]) -> Rule:
    return lambda v: None if v in choices else f"is not one of {list(choices)}"


def _each(rule: Rule, nonempty: bool = False) -> Rule:
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
        (k + "name", o.name, _one_of(OPTIMIZERS)),
        (k + "lr", o.lr, _at_least(0, strict=True)),
        (k + "momentum", o.momentum, _below(1)),
        (
            k + "betas",
            o.betas,
            lambda b: None if len(b) == 2 and not _each(_below(1))(b) else "must be two numbers in [0, 1)",
        ),
        (k + "weight_decay", o.weight_decay, _at_least(0)),
        (k + "clip_norm", o.clip_norm, _at_least(0)),
    ]


def rules(c: Config) -> list[tuple[str, Any, Rule]]:
    """(key, value, rule) for every value of ``c``; a rule returns what is wrong, or None."""
    n, d, s = c.network, c.data, c.schedule
    positive_int, count = _at_least(1), _at_least(0)
    rules: list[tuple[str, Any, Rule]] = [
        ("name", c.name, lambda v: None if v.strip() else "must not be empty"),
        ("model", c.model, lambda v: None if v.strip() else "must not be empty"),
        ("recon_loss", c.recon_loss, _one_of(RECON_LOSSES)),
        ("labeled_batch_size", c.labeled_batch_size, count),
        ("schedule.kind", s.kind, _one_of(SCHEDULES)),
        ("schedule.milestones", s.milestones, _each(positive_int)),
        ("schedule.gamma", s.gamma, _at_least(0, strict=True)),
        ("schedule.warmup_steps", s.warmup_steps, count),
        ("epochs", c.epochs, positive_int),
        ("batch_size", c.batch_size, positive_int),
        ("seed", c.seed, count),
        ("device", c.device, _device),
        ("precision", c.precision, _one_of(PRECISIONS)),
        ("threads", c.threads, count),
        ("checkpoint_every", c.checkpoint_every, count),
        ("checkpoint_minutes", c.checkpoint_minutes, _at_least(0)),
        ("on_nan", c.on_nan, _one_of(ON_NAN)),
        ("data.dataset", d.dataset, lambda v: None if v.strip() else "must not be empty"),
        ("data.validation", d.validation, count),
        ("data.fold", d.fold, lambda v: None if 0 <= v <= 4 else "must be 0, 1, 2, 3 or 4"),
        ("data.n_labeled", d.n_labeled, lambda v: None if v == -1 or v >= 1 else "must be -1 (all) or >= 1"),
        ("data.split", d.split, _one_of(SPLIT_ORDERS)),
        ("data.label_seed", d.label_seed, lambda v: None if v >= -1 else "must be -1 (the run's seed) or >= 0"),
        ("network.code_dim", n.code_dim, positive_int),
        ("network.encoder", n.encoder, _one_of(ENCODER_KINDS)),
        ("network.noise_dim", n.noise_dim, count),
        ("network.arch", n.arch, _one_of(ARCHS)),
        ("network.hidden", n.hidden, _each(positive_int)),
        ("network.channels", n.channels, _each(positive_int, nonempty=True)),
        ("network.disc_hidden", n.disc_hidden, _each(positive_int)),
        ("network.output", n.output, _one_of(OUTPUTS)),
        ("network.init_std", n.init_std, _at_least(0)),
        ("network.dropout", n.dropout, _below(1)),
        ("network.decoder_dropout", n.decoder_dropout, _below(1)),
        ("network.input_noise", n.input_noise, _at_least(0)),
        ("network.input_dropout", n.input_dropout, _below(1)),
        ("network.input_shift", n.input_shift, _at_least(0)),
        ("network.disc_noise", n.disc_noise, _at_least(0)),
        (
            "network.n_clusters",
            n.n_clusters,
            lambda v: None if v == 0 or v >= 2 else "must be 0 (one per class) or >= 2",
        ),
        ("aae.label_weight", c.aae.label_weight, _at_least(0, strict=True)),
        ("wae.weight", c.wae.weight, _at_least(0)),
        ("wae.kernel", c.wae.kernel, _one_of(MMD_KERNELS)),
        ("wae.scales", c.wae.scales, _each(_at_least(0, strict=True), nonempty=True)),
        ("vae.kl_weight", c.vae.kl_weight, _at_least(0)),
        ("ema", c.ema, _below(1)),
        ("semisupervised.labeled_recon", c.semisupervised.labeled_recon, _at_least(0)),
        ("semisupervised.vat_weight", c.semisupervised.vat_weight, _at_least(0)),
        ("semisupervised.vat_eps", c.semisupervised.vat_eps, _at_least(0, strict=True)),
        ("semisupervised.vat_xi", c.semisupervised.vat_xi, _at_least(0, strict=True)),
        ("semisupervised.entmin_weight", c.semisupervised.entmin_weight, _at_least(0)),
        ("semisupervised.label_smoothing", c.semisupervised.label_smoothing, _below(1)),
        ("semisupervised.labeled_mixup", c.semisupervised.labeled_mixup, _at_least(0)),
        ("semisupervised.categories_per_class", c.semisupervised.categories_per_class, _at_least(1)),
        ("semisupervised.teacher_weight", c.semisupervised.teacher_weight, _at_least(0)),
        ("semisupervised.teacher_weight", c.semisupervised.teacher_weight, _teacher_needs_ema(c.ema)),
        ("semisupervised.teacher_rampup", c.semisupervised.teacher_rampup, _at_least(0)),
        ("clustering.balance_weight", c.clustering.balance_weight, _at_least(0)),
        ("clustering.sharpness_weight", c.clustering.sharpness_weight, _at_least(0)),
        ("clustering.vat_weight", c.clustering.vat_weight, _at_least(0)),
        ("clustering.vat_eps", c.clustering.vat_eps, _at_least(0, strict=True)),
        ("clustering.vat_neighbour", c.clustering.vat_neighbour, count),
        ("clustering.vat_xi", c.clustering.vat_xi, _at_least(0, strict=True)),
        ("dimred.heads", c.dimred.heads, _one_of(HEADS)),
        ("dimred.head_scale", c.dimred.head_scale, _at_least(0, strict=True)),
        ("dimred.head_margin", c.dimred.head_margin, _at_least(0, strict=True)),
        ("dimred.head_weight", c.dimred.head_weight, _at_least(0)),
    ]
    if n.encoder == "universal":
        rules.append(
            ("network.noise_dim", n.noise_dim, lambda v: None if v >= 1 else "must be >= 1 for the universal encoder")
        )
    for name, o in c.optim.items():
        rules += _optim_rules(name, o)
    return rules
