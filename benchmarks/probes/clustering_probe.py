"""Small-scale unsupervised clustering probe (records: results/clustering/attempts.log).

    python benchmarks/probes/clustering_probe.py --data-dir ../shared/data [--images 10000] [--epochs 6]
        [--preset mnist-clusters-16] [KEY=VALUE ...]

Trains the preset's network (bf16 unless an override says otherwise; one thread) on the first
``--images`` training images, without labels, and prints, every ``--every`` epochs: the test error on
3,000 test images (each cluster labelled from 3,000 validation images), the number of clusters in use
on those test images and the mean max q(y|x). Example, one line of the attempts log:

    python benchmarks/probes/clustering_probe.py --data-dir ../shared/data network.code_dim=10

The log writes its commands in an older positional form: ``clustering_probe.py 10000 6 KEY=VALUE``
is ``--images 10000 --epochs 6 KEY=VALUE`` here.
"""

from __future__ import annotations

import torch
from probe_common import mnist, parser, report, train_scored

from aae.classification import cluster_labels, error_percent, predict_labels, predict_proba
from aae.config import apply_overrides
from aae.presets import get_preset


def main() -> None:
    ap = parser(__doc__, epochs=6, every=2)
    ap.add_argument("--images", type=int, default=10000, help="unlabeled training images (default: %(default)s)")
    ap.add_argument("--preset", default="mnist-clusters-16", help="the network and optimizers (default: %(default)s)")
    args = ap.parse_args()
    splits = mnist(args, n_labeled=0)
    x = splits.x_train[: args.images]
    y = torch.full((len(x),), -1)
    cfg = apply_overrides(get_preset(args.preset), ['precision="bf16"', *args.overrides])
    x_val, y_val = splits.x_val[:3000], splits.y_val[:3000]
    x_test, y_test = splits.x_test[:3000], splits.y_test[:3000]

    def score(model):
        p_test = predict_proba(model, x_test)
        mapping = cluster_labels(predict_proba(model, x_val), y_val)
        error = error_percent(predict_labels(p_test, mapping), y_test)
        used = int((p_test.argmax(1).bincount(minlength=p_test.shape[1]) > 0).sum())
        return round(error, 1), used, round(float(p_test.max(1).values.mean()), 2)

    curve, last, seconds = train_scored(cfg, x, y, args, score)
    report(args, "preset", "epoch, err, clusters used, conf", curve, last, ["disc_acc"], seconds)


if __name__ == "__main__":
    main()
