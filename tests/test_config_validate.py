"""Every invalid config value is refused by `aae train` with one error line, exit status 2, before
any file is written; valid values pass the same checks (Config.validate + aae.models.check_config)."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aae.cli import main
from aae.config import Config, apply_overrides
from aae.errors import AAEError
from aae.models import MODELS, check_config
from conftest import TINY

nonfinite = st.sampled_from([float("nan"), float("inf"), float("-inf")])
bad_text = st.text(max_size=12)
below_one = st.integers(max_value=0)
negative_int = st.integers(max_value=-1)
negative = st.floats(max_value=-1e-9, allow_nan=False, allow_infinity=False) | nonfinite
not_positive = st.floats(max_value=0.0, allow_nan=False, allow_infinity=False) | nonfinite
not_fraction = st.floats(min_value=1.0, allow_nan=False) | negative
bad_sizes = st.lists(st.integers(min_value=1, max_value=64), max_size=3).flatmap(
    lambda ok: st.integers(max_value=0).map(lambda bad: ok + [bad])
)


def outside(choices):
    return bad_text.filter(lambda s: s not in choices)


#: config key -> strategy of values that are wrong for it (right type, wrong value)
INVALID = {
    "epochs": below_one,
    "batch_size": below_one,
    "seed": negative_int,
    "threads": negative_int,
    "checkpoint_every": negative_int,
    "checkpoint_minutes": negative,
    "labeled_batch_size": negative_int,
    "precision": outside(("auto", "float32", "bf16")),
    "on_nan": outside(("stop", "rollback")),
    "device": bad_text.filter(lambda s: s not in ("auto", "cpu", "cuda") and not s.startswith("cuda:")),
    "recon_loss": outside(("mse", "l1", "bce")),
    "model": outside(tuple(MODELS)),
    "schedule.kind": outside(("constant", "step", "exponential")),
    "schedule.gamma": not_positive,
    "schedule.milestones": bad_sizes,
    "network.code_dim": below_one,
    "network.encoder": outside(("deterministic", "gaussian", "universal")),
    "network.noise_dim": negative_int,
    "network.arch": outside(("mlp", "conv")),
    "network.hidden": bad_sizes,
    "network.channels": bad_sizes | st.just([]),
    "network.disc_hidden": bad_sizes,
    "network.output": outside(("sigmoid", "linear")),
    "network.init_std": negative,
    "network.dropout": not_fraction,
    "network.decoder_dropout": not_fraction,
    "network.input_noise": negative,
    "network.input_dropout": not_fraction,
    "network.input_shift": st.integers(max_value=-1),
    "network.disc_noise": negative,
    "network.n_clusters": st.integers(max_value=1).filter(lambda k: k != 0),
    "data.validation": negative_int,
    "data.fold": st.integers(max_value=-1) | st.integers(min_value=5),
    "data.n_labeled": st.integers(max_value=0).filter(lambda n: n != -1),
    "data.label_seed": st.integers(max_value=-2),
    "optim.recon.name": outside(("sgd", "adam")),
    "optim.recon.lr": not_positive,
    "optim.disc.momentum": not_fraction,
    "optim.gen.weight_decay": negative,
    "optim.gen.betas": st.lists(st.floats(0, 0.99), min_size=3, max_size=4) | st.tuples(not_fraction, st.just(0.9)),
    "aae.label_weight": not_positive,
    "wae.weight": negative,
    "wae.kernel": outside(("imq", "rbf")),
    "wae.scales": bad_sizes | st.just([]),
    "vae.kl_weight": negative,
    "ema": not_fraction,
    "semisupervised.labeled_recon": negative,
    "semisupervised.vat_weight": negative,
    "semisupervised.vat_eps": not_positive,
    "semisupervised.entmin_weight": negative,
    "semisupervised.label_smoothing": not_fraction,
    "semisupervised.labeled_mixup": negative,
    "semisupervised.labeled_shift": st.integers(max_value=-1),
    "semisupervised.categories_per_class": st.integers(max_value=0),
    "semisupervised.teacher_weight": negative,
    "semisupervised.teacher_rampup": negative,
    "clustering.balance_weight": negative,
    "clustering.sharpness_weight": negative,
    "dimred.heads": outside(("learned", "identity")),
    "dimred.head_scale": not_positive,
    "dimred.head_margin": not_positive,
    "dimred.head_weight": negative,
    "prior.std": not_positive,
}


def as_text(value) -> str:
    return json.dumps(list(value) if isinstance(value, tuple) else value)


def tiny_run(npz, out, *sets: str) -> list[str]:
    """`aae train` of a small network on ``npz`` for one epoch: it trains and writes ``out`` unless refused."""
    args = ["train", "mnist-gaussian-2d", "--out", str(out), "--quiet"]
    for item in [f'data.dataset="{npz}"', "epochs=1", *TINY, *sets]:
        args += ["--set", item]
    return args


def test_the_command_trains_when_the_values_are_valid(tiny_npz, tmp_path, capsys, monkeypatch):
    """The control for the test below: the same command writes a run, so a refusal there is the check's.
    The config is checked once in the run (train_run, before the data; building the model does not again)."""
    checks, validate = [], Config.validate
    monkeypatch.setattr(Config, "validate", lambda cfg: checks.append(cfg.name) or validate(cfg))
    assert main(tiny_run(tiny_npz, tmp_path / "out")) == 0
    assert (tmp_path / "out" / "summary.json").is_file()
    assert checks == ["mnist-gaussian-2d"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(sorted(INVALID)), data=st.data())
def test_invalid_values_are_refused_before_anything_is_written(tiny_npz, tmp_path_factory, capsys, key, data):
    value = data.draw(INVALID[key], label="value")
    out = tmp_path_factory.mktemp("run") / "out"
    rc = main(tiny_run(tiny_npz, out, f"{key}={as_text(value)}"))
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2, (key, value, err)
    assert len(err) == 1 and err[0].startswith("error: "), err
    assert not out.exists()


#: config key -> strategy of values that are right for it
VALID = {
    "epochs": st.integers(1, 10**6),
    "batch_size": st.integers(1, 10**4),
    "schedule.gamma": st.floats(1e-6, 10),
    "schedule.milestones": st.lists(st.integers(1, 500), max_size=4),
    "network.dropout": st.floats(0, 0.99),
    "network.decoder_dropout": st.floats(0, 0.99),
    "network.input_noise": st.floats(0, 5),
    "network.input_dropout": st.floats(0, 0.99),
    "network.n_clusters": st.just(0) | st.integers(2, 50),
    "data.n_labeled": st.just(-1) | st.integers(1, 60000),
    "optim.recon.lr": st.floats(1e-8, 10),
    "optim.disc.momentum": st.floats(0, 0.999),
    "device": st.sampled_from(["auto", "cpu", "cuda", "cuda:0", "cuda:3"]),
    "precision": st.sampled_from(["float32", "bf16"]),
}


@settings(max_examples=100, deadline=None)
@given(key=st.sampled_from(sorted(VALID)), data=st.data())
def test_valid_values_pass_the_checks(key, data):
    value = data.draw(VALID[key], label="value")
    check_config(apply_overrides(Config(), [f"{key}={as_text(value)}"]))


@pytest.mark.parametrize("key", sorted(INVALID))
def test_every_key_of_the_table_exists(key):
    """The table above names real keys: a typo would make its test pass for the wrong reason."""
    if key == "prior.std":
        return
    apply_overrides(Config(), [f"{key}={as_text(getattr_path(Config(), key))}"])


def getattr_path(cfg, key):
    node = cfg.to_dict()
    for part in key.split("."):
        node = node[part]
    return node


def test_the_mean_teacher_needs_a_weight_average():
    with pytest.raises(AAEError, match="semisupervised.teacher_weight.*set ema > 0"):
        check_config(apply_overrides(Config(), ["semisupervised.teacher_weight=1"]))
    check_config(apply_overrides(Config(), ["semisupervised.teacher_weight=1", "ema=0.99"]))
