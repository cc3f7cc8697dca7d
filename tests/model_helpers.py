"""Helpers shared by the model tests: tiny configs, one recorded training step, parameter groups."""

import torch

from aae.config import Config, DimredConfig, NetworkConfig
from aae.training import make_optimizer


def tiny_cfg(**kw) -> Config:
    """A 2-D code AAE small enough for a unit test; ``kw`` sets top-level config fields."""
    cfg = Config(network=NetworkConfig(code_dim=2, hidden=[16], disc_hidden=[16]))
    for k, v in kw.items():
        setattr(cfg, k, v)
    return cfg


def tiny_categorical(model: str, dimred: DimredConfig | None = None, **net) -> Config:
    """A categorical model (semi-supervised, clustering, dimred, supervised) small enough for a unit test."""
    cfg = Config(model=model, network=NetworkConfig(code_dim=3, hidden=[16, 16], disc_hidden=[8], **net))
    cfg.dimred = dimred or DimredConfig()
    cfg.batch_size = 20
    return cfg


class RecordingOptimizer:
    """Wraps an optimizer; records which model parameters changed during its step."""

    def __init__(self, opt, model, log, name):
        self.opt, self.model, self.log, self.name = opt, model, log, name

    def zero_grad(self, set_to_none=True):
        self.opt.zero_grad(set_to_none=set_to_none)

    def step(self):
        before = {k: v.detach().clone() for k, v in self.model.named_parameters()}
        self.opt.step()
        changed = {k for k, v in self.model.named_parameters() if not torch.equal(v, before[k])}
        self.log.append((self.name, changed))


def recorded_step(model, cfg, x, y, **kw):
    """One ``train_step`` with recording optimizers: (changed parameter names by phase, phase order, metrics)."""
    log = []
    opts = {
        n: RecordingOptimizer(make_optimizer(p, cfg.optim[n]), model, log, n)
        for n, p in model.phase_parameters().items()
    }
    metrics = model.train_step(x, y, opts, torch.Generator().manual_seed(0), **kw)
    return dict(log), [n for n, _ in log], metrics


def run_one_step(model, cfg, y=None):
    """A step on 8 random 20-feature examples (unlabeled unless ``y``): (phase log, metrics)."""
    y = torch.full((8,), -1) if y is None else y
    changed, order, metrics = recorded_step(model, cfg, torch.rand(8, 20), y)
    return [(n, changed[n]) for n in order], metrics


def one_step(model, cfg, **kw):
    """A step on 8 random examples with labels in 0..3: (changed by phase, phase order, metrics)."""
    return recorded_step(model, cfg, torch.rand(8, 20), torch.randint(0, 4, (8,)), **kw)


def groups(names):
    return {n.split(".")[0] if not n.startswith("regularizer") else "discriminator" for n in names}


def prefixes(names):
    return {".".join(n.split(".")[:2]) if n.startswith("encoder") else n.split(".")[0] for n in names}


def labeled_data(n=200, d=20, k=4, n_labeled=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    y_true = torch.arange(n) % k
    x = torch.rand(n, d, generator=g) * 0.3
    x[torch.arange(n), y_true * 5] = 1.0  # class c lights up feature 5c
    y = torch.full((n,), -1)
    y[:n_labeled] = y_true[:n_labeled]
    return x, y, y_true
