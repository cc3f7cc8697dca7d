"""Small-scale unsupervised clustering probe (see results/clustering/attempts.log).

    python benchmarks/clustering_probe.py N_IMAGES EPOCHS [key=value ...]

Trains the mnist-clusters-16 preset network (bf16, 1 thread) on the first N_IMAGES unlabeled training
images and prints, every 2 epochs: test error on 3,000 test images (clusters labelled from 3,000
validation images), clusters in use and mean max q(y|x).
"""

import sys
import time

import torch

from aae.classification import cluster_labels, error_percent, predict_labels, predict_proba
from aae.config import apply_overrides
from aae.data import load_splits
from aae.models import build_model
from aae.presets import get_preset
from aae.training import Trainer

torch.set_num_threads(1)
s = load_splits("mnist", "../shared/data", 10000, 0, 0)
n = int(sys.argv[1])
epochs = int(sys.argv[2])
sets = sys.argv[3:]
x, y = s.x_train[:n], torch.full((n,), -1)
cfg = apply_overrides(get_preset("mnist-clusters-16"), ['precision="bf16"'] + sets)
torch.manual_seed(0)
m = build_model(cfg, 784, 10)
tr = Trainer(m, cfg, x, y)
t0 = time.time()
curve = []
for e in range(epochs):
    tr.fit(e + 1)
    if (e + 1) % 2 == 0 or e + 1 == epochs:
        pv = predict_proba(m, s.x_val[:3000])
        pt = predict_proba(m, s.x_test[:3000])
        mp = cluster_labels(pv, s.y_val[:3000])
        err = error_percent(predict_labels(pt, mp), s.y_test[:3000])
        used = int((pt.argmax(1).bincount(minlength=pt.shape[1]) > 0).sum())
        curve.append((e + 1, round(err, 1), used, round(float(pt.max(1).values.mean()), 2)))
        m.train()
h = tr.history[-1]
print(
    " ".join(sets) or "preset",
    "| (epoch, err, clusters used, conf):",
    curve,
    "| disc_acc",
    round(h["disc_acc"], 3),
    f"{time.time() - t0:.0f}s",
    flush=True,
)
