"""IMSAT alone (``mnist-imsat-10``) with the reference's initialisation, through the library's
trainer: does the start decide which split of the fours and nines the clusters find?

    python benchmarks/probes/imsat_init.py --epochs 20 --out curve.jsonl [--last-scale 0.01]
        [--hidden-scale 0.316] [--seed 0] [--set KEY=VALUE ...] [--data-dir ../shared/data]

The reference (weihua916/imsat, Chainer v1) draws each weight from N(0, wscale / fan_in) with
wscale 0.1 for the hidden layers and 1e-4 for the last, biases 0: q(y|x) starts uniform. Here
every Linear layer's weight is redrawn from N(0, scale² / fan_in) (``--hidden-scale`` for the
hidden layers, ``--last-scale`` for the logits), biases set to 0. Each epoch writes one JSON line
with the validation error under Hungarian matching and the cluster sizes; the test split is not read.
"""

from __future__ import annotations

import argparse
import json

import torch
from torch import nn

from aae.classification import hungarian_error, predict_proba
from aae.config import apply_overrides
from aae.data import load_splits
from aae.models import build_model
from aae.presets import get_preset
from aae.training import Trainer


def reinit_(net: nn.Module, hidden_scale: float, last_scale: float, generator: torch.Generator) -> None:
    """Every Linear of ``net`` redrawn from N(0, scale² / fan_in), biases 0; the last one with ``last_scale``."""
    layers = [m for m in net.modules() if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for i, layer in enumerate(layers):
            scale = last_scale if i == len(layers) - 1 else hidden_scale
            fan_in = layer.weight.shape[1]
            layer.weight.copy_(torch.randn(layer.weight.shape, generator=generator) * scale / fan_in**0.5)
            layer.bias.zero_()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="mnist-imsat-10")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--hidden-scale", type=float, default=0.1**0.5)
    ap.add_argument("--last-scale", type=float, default=1e-2, help="0 or less: keep PyTorch's initialisation")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", action="append", default=[], dest="sets")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    cfg = apply_overrides(get_preset(args.preset), [f"seed={args.seed}", *args.sets])
    s = load_splits(cfg.data.dataset, args.data_dir, cfg.data.validation, -1, args.seed)
    torch.manual_seed(cfg.seed)
    model = build_model(cfg, s.data_dim, s.n_classes, s.image_shape)
    if args.last_scale > 0:
        reinit_(model, args.hidden_scale, args.last_scale, torch.Generator().manual_seed(cfg.seed))
    trainer = Trainer(model, cfg, s.x_train, torch.full((len(s.x_train),), -1))
    with open(args.out, "w") as f:
        for epoch in range(1, args.epochs + 1):
            trainer.fit(epoch)
            clusters = predict_proba(model, s.x_val).argmax(1)
            sizes = torch.bincount(clusters, minlength=model.predict_proba(s.x_val[:1]).shape[1]).tolist()
            row = {"epoch": epoch, "val_error_hungarian": hungarian_error(clusters, s.y_val), "sizes": sizes}
            print(json.dumps({**row, "seconds": trainer.history[-1]["seconds"]}), file=f, flush=True)


if __name__ == "__main__":
    main()
