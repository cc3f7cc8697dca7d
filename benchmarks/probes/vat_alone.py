"""VAT alone on MNIST with 100 labels, outside the library's trainer: the VAT reference's recipe
(takerum/vat, ``train_mnist_semisup.py``) and variants of it, to find where ``mnist-vat-100`` and
the reference part ways. Validation only: the test split is not read.

    python benchmarks/probes/vat_alone.py --variant ref --eps 0.3 --epochs 8 --out curve.jsonl \
        [--precision float32|bf16] [--seed 0] [--data-dir ../shared/data]

The reference: 784-1200-1200-10, batch norm on every layer (the logits too), weights
N(0, 1/fan_in), one Adam step (lr 0.002 × 0.9 per epoch of 500 updates) on the cross-entropy of
all 100 labeled images + VAT (xi 1e-3 here) on 250 unlabeled ones; the labeled pass moves batch
norm's running statistics, the VAT passes do not. Variants:

- ``ref``: as above; ``ustats``: a clean pass of the unlabeled batch also moves the statistics;
- ``concat``: the labeled and unlabeled images through the network as one batch (one set of
  batch statistics for both);
- ``nobn``: no batch norm at all;
- ``ent``: ``ref`` + the mean entropy of q(y|x) on the unlabeled batch (weight 1, "VAT + EntMin").

Each epoch writes one JSON line: the last step's ``ce`` and ``vat``, ``val_error`` (running
statistics), ``val_entropy`` (mean entropy of q(y|x) on the validation images, nats) and ``s``.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
import torch.nn.functional as F
from torch import nn

from aae.data import load_splits
from aae.models.classifier_terms import frozen_batchnorm_stats, mean_entropy, vat_loss

VARIANTS = ("ref", "ustats", "concat", "nobn", "ent")


def reference_net(batchnorm: bool) -> nn.Sequential:
    def lin(i: int, o: int) -> nn.Linear:
        layer = nn.Linear(i, o)
        nn.init.normal_(layer.weight, 0, (1 / i) ** 0.5)
        nn.init.zeros_(layer.bias)
        return layer

    def bn(n: int) -> list[nn.Module]:
        return [nn.BatchNorm1d(n)] if batchnorm else []

    return nn.Sequential(lin(784, 1200), *bn(1200), nn.ReLU(), lin(1200, 1200), *bn(1200), nn.ReLU(), lin(1200, 10),
                         *bn(10))  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variant", choices=VARIANTS, default="ref")
    ap.add_argument("--eps", type=float, default=0.3)
    ap.add_argument("--epochs", type=int, default=100, help="of 500 updates each (the reference: 100)")
    ap.add_argument("--precision", choices=["float32", "bf16"], default="float32")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    s = load_splits("mnist", args.data_dir, 10000, 100, args.seed)
    lab = (s.y_train >= 0).nonzero().squeeze(1)
    xl, yl, xu_all = s.x_train[lab], s.y_train[lab], s.x_train
    net = reference_net(args.variant != "nobn")
    opt = torch.optim.Adam(net.parameters(), 2e-3)
    order, noise = torch.Generator().manual_seed(args.seed + 1), torch.Generator().manual_seed(args.seed + 2)
    bf16 = args.precision == "bf16"

    def amp():
        return torch.autocast("cpu", torch.bfloat16, enabled=bf16)

    def validate() -> tuple[float, float]:
        net.eval()
        with torch.no_grad(), amp():
            p = torch.cat([net(s.x_val[i : i + 2000]).float().softmax(1) for i in range(0, len(s.x_val), 2000)])
        net.train()
        entropy = float(-(p * p.clamp_min(1e-12).log()).sum(1).mean())
        return 100.0 * float((p.argmax(1) != s.y_val).float().mean()), entropy

    t0 = time.time()
    with open(args.out, "w") as f:
        for epoch in range(args.epochs):
            for group in opt.param_groups:
                group["lr"] = 2e-3 * 0.9**epoch
            for _ in range(500):
                xu = xu_all[torch.randint(0, len(xu_all), (250,), generator=order)]
                with amp():
                    if args.variant == "concat":
                        ce = F.cross_entropy(net(torch.cat([xl, xu]))[: len(xl)].float(), yl)
                    else:
                        ce = F.cross_entropy(net(xl).float(), yl)
                    if args.variant == "ustats":
                        with torch.no_grad():
                            net(xu)
                    with frozen_batchnorm_stats(net):
                        v = vat_loss(net, xu, args.eps, 1e-3, noise)
                        loss = ce + v + (mean_entropy(net(xu)) if args.variant == "ent" else 0.0)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            err, ent = validate()
            row = {"epoch": epoch + 1, "ce": float(ce), "vat": float(v), "val_error": err, "val_entropy": ent}
            print(json.dumps({**row, "s": time.time() - t0}), file=f, flush=True)


if __name__ == "__main__":
    main()
