"""The scikit-learn estimators with their defaults, on several data sets, against scikit-learn's own.

    OMP_NUM_THREADS=1 python benchmarks/sklearn_defaults.py --data-dir ../shared/data
        [--datasets digits mnist-2000 fashion-2000] [--seeds 0 1 2] [--task clustering classification]
        [--param clustering.max_epochs=200 ...] [--tag NAME] [--rewrite]

What a user gets who calls ``AAEClustering(n_clusters=K, random_state=seed)`` or
``SemiSupervisedAAEClassifier(random_state=seed)`` on their own images, nothing else set:

- **clustering** (all samples, no labels): adjusted Rand index of ``AAEClustering`` against
  ``KMeans(K, n_init=10)`` on the same features;
- **classification** (10 % of each class of a 75 % training split labelled, accuracy on the other
  25 %): ``SemiSupervisedAAEClassifier`` against ``LabelSpreading`` with both of scikit-learn's
  kernels at their defaults and ``LogisticRegression`` on the labelled samples alone.

Data sets (features in [0, 1]): ``digits`` (scikit-learn's 8x8 digits / 16, 1,797 images),
``mnist-N`` and ``fashion-N`` (N training images of MNIST / Fashion-MNIST, a fixed random subset,
from ``--data-dir``). ``--param TASK.NAME=VALUE`` sets an estimator parameter away from its default
(to compare candidate defaults; the json records them). Writes ``<results>/<tag>.json`` and ``.md``
(``--results`` defaults to ``results/sklearn_defaults``, ``--tag`` to ``defaults``): the mean of
each method over the seeds, then every seed's score and fit time and whether the estimator beats
the best of the other methods on that seed. ``--rewrite`` writes the ``.md`` from the ``.json``.
"""

from __future__ import annotations

import argparse
import ast
import json
import platform
import statistics
import sys
import warnings
from pathlib import Path

import numpy as np
import sklearn
import torch
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import train_test_split
from sklearn.semi_supervised import LabelSpreading

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from reproduce import git_commit  # noqa: E402
from sklearn_digits import label_subset, timed  # noqa: E402  (benchmarks/ is on the path of a script run from it)

from aae.data import load_splits  # noqa: E402
from aae.errors import exit_on_error  # noqa: E402
from aae.sklearn import AAEClustering, SemiSupervisedAAEClassifier  # noqa: E402


def load(name: str, data_dir: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Features ``(n, d)`` in [0, 1] (float32) and labels ``(n,)`` of data set ``name``."""
    if name == "digits":
        d = load_digits()
        return (d.data / 16.0).astype(np.float32), d.target
    base, _, n = name.rpartition("-")
    if base not in ("mnist", "fashion") or not n.isdigit():
        exit_on_error(f"unknown data set {name!r} (digits, mnist-N, fashion-N)")
    splits = load_splits({"mnist": "mnist", "fashion": "fashion-mnist"}[base], data_dir, validation=0)
    pick = torch.randperm(len(splits.x_train), generator=torch.Generator().manual_seed(12345))[: int(n)]
    return splits.x_train[pick].numpy().astype(np.float32), splits.y_train[pick].numpy()


def clustering(X, y, seed: int, params: dict) -> dict:
    k = len(np.unique(y))
    out = {}
    km, s = timed(lambda: KMeans(k, n_init=10, random_state=seed).fit(X))
    out["KMeans"] = {"score": float(adjusted_rand_score(y, km.labels_)), "seconds": round(s, 1)}
    aae, s = timed(lambda: AAEClustering(k, random_state=seed, **params).fit(X))
    out["AAEClustering"] = {"score": float(adjusted_rand_score(y, aae.labels_)), "seconds": round(s, 1)}
    return out


def classification(X, y, seed: int, params: dict) -> dict:
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)
    semi = label_subset(ytr, 0.1, seed)
    lab = semi >= 0
    models = {
        "LogisticRegression (labelled only)": lambda: LogisticRegression(max_iter=5000).fit(Xtr[lab], ytr[lab]),
        "LabelSpreading (knn)": lambda: LabelSpreading(kernel="knn", max_iter=1000).fit(Xtr, semi),
        "LabelSpreading (rbf)": lambda: LabelSpreading(kernel="rbf", max_iter=1000).fit(Xtr, semi),
        "SemiSupervisedAAEClassifier": lambda: SemiSupervisedAAEClassifier(random_state=seed, **params).fit(Xtr, semi),
    }
    out = {}
    for name, fit in models.items():
        with warnings.catch_warnings():  # LabelSpreading's graph divides by zero for isolated rows
            warnings.simplefilter("ignore", RuntimeWarning)
            model, s = timed(fit)
        out[name] = {"score": float(model.score(Xte, yte)), "seconds": round(s, 1)}
    return out


TASKS = {"clustering": (clustering, "adjusted Rand index"), "classification": (classification, "test accuracy")}


def parse_params(items: list[str]) -> dict[str, dict]:
    params: dict[str, dict] = {t: {} for t in TASKS}
    for item in items:
        key, _, text = item.partition("=")
        task, _, name = key.partition(".")
        if task not in TASKS or not name or not text:
            exit_on_error(f"--param expects TASK.NAME=VALUE with TASK in {list(TASKS)}, got {item!r}")
        try:
            params[task][name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            params[task][name] = text
    return params


def fmt(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def write_md(record: dict, path: Path) -> None:
    lines = []
    for task, by_data in record["results"].items():
        lines += [f"## {task}: {TASKS[task][1]}, mean ± std over seeds {record['seeds']}", ""]
        methods = list(next(iter(by_data.values()))[0])
        lines += ["| data | " + " | ".join(methods) + " |", "|---" * (len(methods) + 1) + "|"]
        for data, runs in by_data.items():
            means = {m: statistics.mean(r[m]["score"] for r in runs) for m in methods}
            best = max(means.values())
            cells = []
            for m in methods:
                cell = fmt([r[m]["score"] for r in runs])
                cells.append(f"**{cell}**" if means[m] == best else cell)
            lines.append(f"| {data} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += per_seed_lines(record)
    p = {t: v for t, v in record["params"].items() if v}
    lines.append(f"Parameters set away from the defaults: {p or 'none'}.")
    lines.append(f"Machine: {record['machine']}. Command: `{record['command']}` at {record['commit']}.")
    path.write_text("\n".join(lines) + "\n")


#: the estimator of each task, against the best of the other methods on the same seed
OURS = {"clustering": "AAEClustering", "classification": "SemiSupervisedAAEClassifier"}


def per_seed_lines(record: dict) -> list[str]:
    """Every seed's score and fit time (seconds) per method, and on how many seeds the estimator
    beats the best other method of that seed: a user fits once, with one seed."""
    lines = []
    for task, by_data in record["results"].items():
        ours = OURS[task]
        lines += [f"## {task}, every seed: {TASKS[task][1]} (fit seconds)", ""]
        methods = list(next(iter(by_data.values()))[0])
        lines += [
            "| data | seed | " + " | ".join(methods) + f" | {ours} beats the rest |",
            "|---" * (len(methods) + 3) + "|",
        ]
        for data, runs in by_data.items():
            for seed, r in zip(record["seeds"], runs):
                rival = max(r[m]["score"] for m in methods if m != ours)
                cells = [f"{r[m]['score']:.3f} ({r[m]['seconds']:g} s)" for m in methods]
                gap = rival - r[ours]["score"]
                won = "yes" if gap < 0 else ("tie" if gap == 0 else f"no, by {gap:.3f}")
                lines.append(f"| {data} | {seed} | " + " | ".join(cells) + f" | {won} |")
        lines.append("")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir")
    ap.add_argument("--datasets", nargs="+", default=["digits", "mnist-2000", "fashion-2000"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--task", nargs="+", choices=list(TASKS), default=list(TASKS))
    ap.add_argument("--param", action="append", default=[], metavar="TASK.NAME=VALUE")
    ap.add_argument("--results", type=Path, default=ROOT / "results" / "sklearn_defaults")
    ap.add_argument("--tag", default="defaults")
    ap.add_argument("--rewrite", action="store_true", help="write <tag>.md from <tag>.json, fitting nothing")
    args = ap.parse_args()
    if args.rewrite:
        write_md(json.loads((args.results / f"{args.tag}.json").read_text()), args.results / f"{args.tag}.md")
        return
    params = parse_params(args.param)
    torch.set_num_threads(1)
    results: dict[str, dict[str, list]] = {t: {} for t in args.task}
    for data in args.datasets:
        X, y = load(data, args.data_dir)
        for task in args.task:
            for seed in args.seeds:
                r = TASKS[task][0](X, y, seed, params[task])
                results[task].setdefault(data, []).append(r)
                print(data, task, seed, {m: v["score"] for m, v in r.items()}, flush=True)
    record = {
        "params": params,
        "seeds": args.seeds,
        "results": results,
        "command": "python benchmarks/sklearn_defaults.py " + " ".join(sys.argv[1:]),
        "commit": git_commit(),
        "machine": f"{platform.machine()}, torch {torch.__version__} (1 thread), scikit-learn {sklearn.__version__}",
    }
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / f"{args.tag}.json").write_text(json.dumps(record, indent=1) + "\n")
    write_md(record, args.results / f"{args.tag}.md")
    print((args.results / f"{args.tag}.md").read_text())


if __name__ == "__main__":
    main()
