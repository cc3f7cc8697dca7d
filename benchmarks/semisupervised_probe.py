"""Small-scale semi-supervised probe (fast hypothesis checks before full-size runs).

    python benchmarks/semisupervised_probe.py EPOCHS [key=value ...]

100 MNIST labels + 10,000 unlabeled training images, 2x256 hidden layers, one CPU thread.
Prints the test error on 2,000 test images every 5 epochs and the "head spread": the mean
pixel-space distance between the decoded class heads (one-hot y, z = 0); near 0 means the
decoder ignores y and class information flows through the style z instead.
"""

import sys
import time

import torch

from aae.config import Config, NetworkConfig, OptimConfig, apply_overrides
from aae.data import load_splits
from aae.models import build_model
from aae.training import Trainer

torch.set_num_threads(1)
s = load_splits("mnist", "../shared/data", 10000, 100, 0)
lab = (s.y_train >= 0).nonzero().squeeze(1)
n = 10000
x = torch.cat([s.x_train[lab], s.x_train[:n]])
y = torch.cat([s.y_train[lab], torch.full((n,), -1)])
xt, yt = s.x_test[:2000], s.y_test[:2000]
epochs = int(sys.argv[1])
sets = sys.argv[2:]
cfg = Config(model="semisupervised", network=NetworkConfig(code_dim=10, hidden=[256, 256], disc_hidden=[256, 256]))
cfg.recon = OptimConfig("sgd", 0.001, 0.9)
cfg = apply_overrides(cfg, sets)
torch.manual_seed(0)
m = build_model(cfg, 784, 10)
tr = Trainer(m, cfg, x, y)
t0 = time.time()
curve = []
for e in range(epochs):
    tr.fit(e + 1)
    if (e + 1) % 5 == 0 or e + 1 == epochs:
        m.eval()
        err = float((m.predict_proba(xt).argmax(1) != yt).float().mean()) * 100
        heads = m.heads()
        spread = float(torch.cdist(heads, heads).mean())
        curve.append((e + 1, round(err, 1), round(spread, 2)))
h = tr.history[-1]
print(
    " ".join(sets) or "base",
    "| err/head-spread:",
    curve,
    "| recon",
    round(h["recon_loss"], 1),
    "disc_acc",
    round(h["disc_acc"], 3),
    f"{time.time() - t0:.0f}s",
    flush=True,
)
