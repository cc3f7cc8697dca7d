"""How to combine several AAEClustering trainings on scikit-learn's digits: the probe behind ``combine``.

    OMP_NUM_THREADS=1 python benchmarks/probes/digits_consensus_probe.py fit 0,2,4,6 --dir runs/digits-fits
    OMP_NUM_THREADS=1 python benchmarks/probes/digits_consensus_probe.py fit 1,3,5,7 --dir runs/digits-fits  # beside it
    python benchmarks/probes/digits_consensus_probe.py combine --dir runs/digits-fits --k 3 5 8

``fit`` trains one ``AAEClustering`` (the benchmark's setting, ``n_init=1``) per ``random_state`` and
saves its memberships; ``combine`` draws 30 groups of ``k`` saved trainings and scores ways of
combining each group (adjusted Rand index against the digits): keep the most confident, k-means on
the concatenated memberships, and its vote (``aae.sklearn.consensus_votes``, what
``AAEClustering(combine="consensus")`` does). The digits are scikit-learn's bundled copy, so no data
directory is needed. Results: ``results/clustering/digits-probes.log``.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from sklearn.metrics import adjusted_rand_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/, for sklearn_digits
from sklearn_digits import CLUSTERING  # noqa: E402

from aae.sklearn import AAEClustering, consensus_membership, consensus_votes  # noqa: E402


def fit(seeds: list[int], out: Path) -> None:
    X, y = load_digits(return_X_y=True)
    out.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        est = AAEClustering(random_state=seed, **{**CLUSTERING, "n_init": 1}).fit(X / 16.0)
        np.save(out / f"fit{seed}.npy", est.predict_proba(X / 16.0))
        print(seed, f"ARI {adjusted_rand_score(y, est.labels_):.3f}", f"confidence {est.confidence_:.3f}", flush=True)


def combine(out: Path, ks: list[int], groups: int = 30) -> None:
    _, y = load_digits(return_X_y=True)
    probas = {int(p.stem[3:]): np.load(p) for p in sorted(out.glob("fit*.npy"))}
    single = {s: adjusted_rand_score(y, p.argmax(1)) for s, p in probas.items()}
    print(f"{len(probas)} trainings, single ARI mean {np.mean(list(single.values())):.3f}")
    rng = np.random.RandomState(0)
    for k in ks:
        combos = [list(c) for c in itertools.combinations(sorted(probas), k)]
        rng.shuffle(combos)
        scores: dict[str, list[float]] = {"most confident": [], "k-means on memberships": [], "consensus vote": []}
        for group in combos[:groups]:
            ps = [probas[s] for s in group]
            best = max(group, key=lambda s: probas[s].max(1).mean())
            scores["most confident"].append(single[best])
            km = KMeans(10, n_init=10, random_state=0).fit_predict(np.concatenate(ps, 1))
            scores["k-means on memberships"].append(adjusted_rand_score(y, km))
            vote = consensus_membership(ps, consensus_votes(ps, 10, seed=0))
            scores["consensus vote"].append(adjusted_rand_score(y, vote.argmax(1)))
        print(f"k={k}: " + ", ".join(f"{n} {np.mean(v):.3f} ± {np.std(v):.3f}" for n, v in scores.items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["fit", "combine"])
    ap.add_argument("seeds", nargs="?", default="0", help="comma-separated random_states (fit)")
    ap.add_argument("--dir", type=Path, default=Path("runs/digits-fits"), help="where the memberships are saved")
    ap.add_argument("--k", type=int, nargs="+", default=[3, 5, 8], help="group sizes (combine)")
    args = ap.parse_args()
    if args.what == "fit":
        fit([int(s) for s in args.seeds.split(",")], args.dir)
    else:
        combine(args.dir, args.k)


if __name__ == "__main__":
    main()
