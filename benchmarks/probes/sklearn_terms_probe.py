"""Probe candidate defaults of ``AAEClustering`` / ``SemiSupervisedAAEClassifier``, including config
keys the estimators do not expose, on seeds 0-2 of one data set.

    OMP_NUM_THREADS=1 python benchmarks/probes/sklearn_terms_probe.py clustering digits \\
        "cfg.clustering.balance_weight=1.0 cfg.clustering.vat_weight=1.0 cfg.clustering.vat_eps=0.6" ...
    OMP_NUM_THREADS=1 python benchmarks/probes/sklearn_terms_probe.py classification digits \\
        "cfg.semisupervised.vat_weight=1.0 cfg.semisupervised.vat_eps=0.6 style_dim=4" ...

Each quoted spec is one setting: ``cfg.KEY=VALUE`` sets a key of the :class:`aae.config.Config`
the estimator builds, ``NAME=VALUE`` an estimator parameter. Prints the adjusted Rand index
(clustering: 10 clusters, all samples) or the test accuracy (classification: the split and label
draw of ``benchmarks/sklearn_defaults.py``) per seed and their mean. Data: ``digits``, ``mnist-N``,
``fashion-N`` as in ``sklearn_defaults.py`` (``--data-dir`` from ``$AAE_DATA`` or ``../shared/data``).
"""

from __future__ import annotations

import ast
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sklearn_defaults import label_subset, load  # noqa: E402

from aae.sklearn import AAEClustering, SemiSupervisedAAEClassifier, _base  # noqa: E402

CONFIG_KEYS: dict = {}
_config = _base.AAEMixin._config


def _patched_config(self, *args, **kwargs):
    """The estimator's config with the probe's ``cfg.`` keys set."""
    cfg = _config(self, *args, **kwargs)
    for key, value in CONFIG_KEYS.items():
        *path, last = key.split(".")
        node = cfg
        for part in path:
            node = getattr(node, part)
        setattr(node, last, value)
    return cfg


def score(task: str, X, y, seed: int, params: dict) -> float:
    if task == "clustering":
        return adjusted_rand_score(y, AAEClustering(10, random_state=seed, **params).fit(X).labels_)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)
    return (
        SemiSupervisedAAEClassifier(random_state=seed, **params).fit(Xtr, label_subset(ytr, 0.1, seed)).score(Xte, yte)
    )


def main() -> None:
    task, data, *specs = sys.argv[1:]
    torch.set_num_threads(1)
    _base.AAEMixin._config = _patched_config
    X, y = load(data, os.environ.get("AAE_DATA", "../shared/data"))
    for spec in specs:
        kw = {k: ast.literal_eval(v) for k, v in (item.split("=", 1) for item in spec.split())}
        CONFIG_KEYS.clear()
        CONFIG_KEYS.update({k[4:]: v for k, v in kw.items() if k.startswith("cfg.")})
        params = {k: v for k, v in kw.items() if not k.startswith("cfg.")}
        scores = []
        for seed in (0, 1, 2):
            t = time.perf_counter()
            scores.append(score(task, X, y, seed, params))
            print(f"{spec} | seed {seed}: {scores[-1]:.4f} ({time.perf_counter() - t:.0f} s)", flush=True)
        print(f"== {spec} | mean {np.mean(scores):.4f}", flush=True)


if __name__ == "__main__":
    main()
