import json

import pytest
import torch

from aae.config import Config, NetworkConfig, OptimConfig, ScheduleConfig, apply_overrides
from aae.errors import AAEError
from aae.models import build_model
from aae.training import NumericalFault, Trainer, lr_factor, make_optimizer


def make_trainer(seed=0, epochs=3, sets=()):
    cfg = Config(
        network=NetworkConfig(code_dim=2, hidden=[32], disc_hidden=[16]), batch_size=25, epochs=epochs, seed=seed
    )
    cfg = apply_overrides(cfg, list(sets))
    cfg.optim["recon"].lr = 0.01
    g = torch.Generator().manual_seed(123)
    # data on a 2-D manifold so a 2-D code can reconstruct it
    t = torch.rand(200, 2, generator=g)
    basis = torch.rand(2, 30, generator=g)
    x = torch.sigmoid((t @ basis) * 4 - 2)
    y = torch.full((200,), -1)
    torch.manual_seed(seed)
    return Trainer(build_model(cfg, 30, 0), cfg, x, y)


def weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_training_lowers_reconstruction_loss_and_logs_metrics():
    tr = make_trainer(epochs=15)
    assert tr.fit(15) is True
    hist = tr.history
    assert len(hist) == 15 and tr.epoch == 15 and tr.step == 15 * 8
    assert hist[-1]["recon_loss"] < 0.7 * hist[0]["recon_loss"]
    for key in ("disc_loss", "gen_loss", "disc_acc", "lr_recon", "lr_disc", "lr_gen", "seconds", "samples_per_second"):
        assert key in hist[0]
    assert 0 <= hist[0]["disc_acc"] <= 1


def test_same_seed_same_weights_other_seed_differs():
    a, b, c = make_trainer(0), make_trainer(0), make_trainer(1)
    for t in (a, b, c):
        t.fit(2)
    wa, wb, wc = weights(a.model), weights(b.model), weights(c.model)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert not all(torch.equal(wa[k], wc[k]) for k in wa)


PENALTY_MODELS = [
    (),  # the AAE
    ("model=wae",),  # WAE-MMD: prior samples from the noise generator
    ("model=vae", "network.encoder=gaussian"),  # VAE: reparameterisation noise
]


@pytest.mark.parametrize("sets", PENALTY_MODELS, ids=["aae", "wae", "vae"])
@pytest.mark.parametrize("stop_step", [16, 21])  # an epoch end (8 steps per epoch) and mid-epoch
def test_state_round_trip_resumes_exactly(stop_step, sets):
    straight = make_trainer(sets=sets)
    straight.fit(4)
    first = make_trainer(sets=sets)
    saved = {}

    def at_checkpoint(t):
        if t.step == stop_step:
            tensors, meta = t.state_tensors()  # references to live tensors: copy them now
            saved["state"] = ({k: v.clone() for k, v in tensors.items()}, json.loads(json.dumps(meta)))
            t.stop_requested = True

    assert first.fit(4, on_checkpoint=at_checkpoint, checkpoint_every=1) is False
    tensors, meta = saved["state"]
    resumed = make_trainer(sets=sets)
    resumed.load_state_tensors(tensors, meta)
    assert resumed.step == stop_step and resumed.epoch * 8 + resumed.batch == stop_step
    assert resumed.fit(4) is True
    ws, wr = weights(straight.model), weights(resumed.model)
    assert all(torch.equal(ws[k], wr[k]) for k in ws)
    assert [m["recon_loss"] for m in straight.history] == [m["recon_loss"] for m in resumed.history]


def test_state_of_another_model_is_refused():
    tensors, meta = make_trainer().state_tensors()
    other = make_trainer()
    other.model.encoder.net[0] = torch.nn.Linear(30, 7)
    with pytest.raises(AAEError, match="checkpoint does not match"):
        other.load_state_tensors(tensors, meta)


def test_lr_schedules():
    assert lr_factor(ScheduleConfig("constant"), 7) == 1.0
    step = ScheduleConfig("step", [2, 4], 0.1)
    assert [lr_factor(step, e) for e in range(5)] == pytest.approx([1, 1, 0.1, 0.1, 0.01])
    assert lr_factor(ScheduleConfig("exponential", gamma=0.5), 3) == 0.125
    with pytest.raises(AAEError, match="unknown schedule"):
        lr_factor(ScheduleConfig("cosine"), 0)


def test_schedule_is_applied_to_every_phase():
    tr = make_trainer()
    tr.cfg.schedule = ScheduleConfig("step", [1], 0.5)
    tr.fit(2)
    m0, m1 = tr.history
    assert m1["lr_recon"] == pytest.approx(0.5 * m0["lr_recon"])
    assert m1["lr_disc"] == pytest.approx(0.5 * m0["lr_disc"])
    assert tr.optimizers["gen"].param_groups[0]["lr"] == pytest.approx(0.5 * tr.cfg.optim["gen"].lr)


def test_divergence_is_reported_clearly():
    tr = make_trainer()
    tr.cfg.optim["recon"].lr = 1e6
    tr.optimizers["recon"].param_groups[0]["lr"] = 1e6
    with pytest.raises(NumericalFault, match=r"in the 'recon' phase at step \d+ \(epoch 1\)") as e:
        tr.fit(3)
    assert e.value.phase == "recon" and 1 <= e.value.step <= 8


def test_batch_larger_than_data_is_refused():
    tr = make_trainer()
    tr.cfg.batch_size = 1000
    with pytest.raises(AAEError, match="batch_size=1000"):
        Trainer(tr.model, tr.cfg, tr.x, tr.y)


def test_uint8_data_train_like_their_float_values():
    """Large image sets stay uint8 and are converted per mini-batch: the same run as float32 / 255."""
    cfg = Config(network=NetworkConfig(code_dim=2, hidden=[16], disc_hidden=[8]), batch_size=20, epochs=2)
    x = torch.randint(0, 256, (60, 12), generator=torch.Generator().manual_seed(5), dtype=torch.uint8)
    y = torch.full((60,), -1)
    runs = []
    for data in (x, x.float() / 255.0):
        torch.manual_seed(0)
        t = Trainer(build_model(cfg, 12, 0), cfg, data, y)
        t.fit(2)
        runs.append(weights(t.model))
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])


def test_penalty_metric_fault_names_the_models_phase():
    tr = make_trainer(sets=["model=wae"])
    tr._pending = [(3, {"recon_loss": torch.tensor(1.0), "mmd": torch.tensor(float("nan"))})]
    with pytest.raises(NumericalFault, match=r"mmd became nan in the 'recon' phase at step 3") as e:
        tr.check_finite()
    assert e.value.phase == "recon"


def test_nan_fault_names_the_phase_that_blew_up_before_it():
    """A generator loss that turns NaN after the discriminator's loss grew for steps: the advice
    points at the discriminator's phase, and at bounding its gradient."""
    tr = make_trainer()
    tr.batch = 4
    tr._sums = {"recon_loss": torch.tensor(200.0), "disc_loss": torch.tensor(4e30), "gen_loss": torch.tensor(8.0)}
    tr._pending = [(4, {"recon_loss": torch.tensor(50.0), "gen_loss": torch.tensor(float("nan"))})]
    with pytest.raises(NumericalFault) as e:
        tr.check_finite()
    message = str(e.value)
    assert "gen_loss became nan in the 'gen' phase at step 4" in message
    assert "after disc_loss ('disc' phase) had grown to a mean of 1e+30" in message
    assert "--set optim.disc.clip_norm=" in message and e.value.phase == "gen"
    # losses of ordinary size point nowhere else
    tr._sums["disc_loss"] = torch.tensor(5.6)
    tr._pending = [(4, {"gen_loss": torch.tensor(float("nan"))})]
    with pytest.raises(NumericalFault, match=r"at step 4 \(epoch 1\); lower the 'gen' phase's learning rate"):
        tr.check_finite()


def test_nan_weight_is_caught_by_the_next_step_or_the_epoch_end():
    """Per-step checks read the losses only; a NaN weight still stops training, named."""
    tr = make_trainer(epochs=1)
    with torch.no_grad():
        tr.model.decoder.net[0].weight[0, 0] = float("nan")
    with pytest.raises(NumericalFault, match="recon_loss became nan"):
        tr.fit(1)
    tr = make_trainer(epochs=1)
    with torch.no_grad():
        tr.model.decoder.net[0].weight[0, 0] = float("nan")
    with pytest.raises(NumericalFault, match=r"weights decoder\.net\.0\.weight hold NaN"):
        tr.check_finite()


def test_auto_is_the_default_and_takes_bf16_only_for_families_with_measured_parity(monkeypatch):
    import aae.hardware
    from model_helpers import tiny_categorical

    assert Config().precision == "auto"
    monkeypatch.setattr(aae.hardware, "fast_bf16", lambda device: True)  # as on a CPU with AMX
    assert make_trainer(epochs=1).precision == "bf16"  # the AAE: parity measured
    for cfg in (
        tiny_categorical("semisupervised"),
        tiny_categorical("supervised"),
        tiny_categorical("clustering", n_clusters=4),
    ):
        assert build_model(cfg, 20, 4).capabilities.bf16_parity  # measured: benchmarks/precision_parity.py
    tr = make_trainer(epochs=1, sets=['model="vae"', 'network.encoder="gaussian"'])  # not measured
    assert not tr.model.capabilities.bf16_parity and tr.precision == "float32"
    monkeypatch.setattr(aae.hardware, "fast_bf16", lambda device: False)  # no fast bf16: float32 for all
    assert make_trainer(epochs=1).precision == "float32"


def test_auto_precision_trains_and_is_recorded(tiny_npz, tmp_path):
    from aae.cli import main
    from aae.hardware import fast_bf16
    from conftest import TINY, train_args

    assert main(train_args(tiny_npz, tmp_path / "r", 1, TINY + ["precision=auto"])) == 0
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["precision"] == ("bf16" if fast_bf16(torch.device("cpu")) else "float32")


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_clip_norm_bounds_the_gradient_a_step_sees(name):
    def step(clip):
        torch.manual_seed(0)
        w = torch.nn.Parameter(torch.zeros(50))
        opt = make_optimizer([w], OptimConfig(name, lr=0.1, momentum=0.0, clip_norm=clip))
        (1000.0 * torch.randn(50) @ w).backward()  # a gradient of norm about 7000
        opt.step()
        return w.grad.norm().item(), w.detach().clone()

    big, w_free = step(0.0)
    clipped, w_clipped = step(1.0)
    assert big > 1000 and clipped == pytest.approx(1.0, rel=1e-4)
    if name == "sgd":  # the step is lr times the clipped gradient
        assert w_clipped.norm().item() == pytest.approx(0.1, rel=1e-4)
        assert w_free.norm().item() > 100
    # a clip larger than the gradient changes nothing
    assert step(1e9)[1].equal(w_free)


def test_warmup_raises_every_learning_rate_step_by_step_then_hands_over_to_the_schedule():
    sched = ScheduleConfig("step", [1], 0.1, warmup_steps=4)
    assert [lr_factor(sched, 0, s) for s in range(6)] == pytest.approx([0.25, 0.5, 0.75, 1, 1, 1])
    assert lr_factor(sched, 1, 10) == pytest.approx(0.1) and lr_factor(sched, 0) == 1.0
    trainer = make_trainer(epochs=1, sets=["schedule.warmup_steps=6"])  # 8 mini-batches per epoch
    seen = []
    step = trainer.model.train_step

    def spy(*args, **kwargs):
        seen.append({n: o.param_groups[0]["lr"] for n, o in trainer.optimizers.items()})
        return step(*args, **kwargs)

    trainer.model.train_step = spy
    trainer.fit(1)
    base = {n: trainer.cfg.optim[n].lr for n in trainer.optimizers}
    for i, lrs in enumerate(seen):
        assert lrs == pytest.approx({n: lr * min(1, (i + 1) / 6) for n, lr in base.items()})


def test_a_run_resumed_inside_the_warmup_trains_as_an_uninterrupted_one():
    sets = ["schedule.warmup_steps=24"]
    straight = make_trainer(sets=sets)
    straight.fit(4)
    first = make_trainer(sets=sets)
    saved = {}

    def at_checkpoint(t):
        if t.step == 13:  # mid-epoch, mid-warm-up
            tensors, meta = t.state_tensors()
            saved["state"] = ({k: v.clone() for k, v in tensors.items()}, json.loads(json.dumps(meta)))
            t.stop_requested = True

    assert first.fit(4, on_checkpoint=at_checkpoint, checkpoint_every=1) is False
    resumed = make_trainer(sets=sets)
    resumed.load_state_tensors(*saved["state"])
    assert resumed.fit(4) is True
    ws, wr = weights(straight.model), weights(resumed.model)
    assert all(torch.equal(ws[k], wr[k]) for k in ws)
