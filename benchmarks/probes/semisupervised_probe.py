"""Small-scale semi-supervised probe: fast hypothesis checks before full-size runs
(records: results/semisupervised/attempts.log).

    python benchmarks/probes/semisupervised_probe.py --data-dir ../shared/data [--epochs 10] [--labels 100]
        [--unlabeled 10000] [KEY=VALUE ...]

``--labels`` MNIST labels (drawn class-balanced by ``--seed``) and the first ``--unlabeled`` training
images, the semi-supervised AAE with 2x256 hidden layers and a 10-D style, SGD with momentum 0.9
at 0.001 for reconstruction; one CPU thread. Prints, every ``--every`` epochs, the test error on 2,000
test images and the "head spread": the mean pixel-space distance between the decoded class heads
(one-hot y, z = 0); near 0 means the decoder ignores y and class information flows through the
style z instead. Example, one line of the attempts log (batch norm and a 5-D style):

    python benchmarks/probes/semisupervised_probe.py --data-dir ../shared/data network.batchnorm=true network.code_dim=5

The log writes its commands in an older positional form: ``semisupervised_probe.py 10 KEY=VALUE`` is
``--epochs 10 KEY=VALUE`` here.
"""

from __future__ import annotations

import torch
from probe_common import mnist, parser, report, train_scored

from aae.config import Config, NetworkConfig, OptimConfig, apply_overrides


def main() -> None:
    ap = parser(__doc__, epochs=10, every=5)
    ap.add_argument("--labels", type=int, default=100, help="labeled training images (default: %(default)s)")
    ap.add_argument("--unlabeled", type=int, default=10000, help="unlabeled training images (default: %(default)s)")
    args = ap.parse_args()
    splits = mnist(args, n_labeled=args.labels)
    labeled = (splits.y_train >= 0).nonzero().squeeze(1)
    unlabeled = splits.x_train[: args.unlabeled]
    x = torch.cat([splits.x_train[labeled], unlabeled])
    y = torch.cat([splits.y_train[labeled], torch.full((len(unlabeled),), -1)])
    x_test, y_test = splits.x_test[:2000], splits.y_test[:2000]
    cfg = Config(model="semisupervised", network=NetworkConfig(code_dim=10, hidden=[256, 256], disc_hidden=[256, 256]))
    cfg.optim["recon"] = OptimConfig("sgd", 0.001, 0.9)
    cfg = apply_overrides(cfg, args.overrides)

    @torch.no_grad()
    def score(model):
        model.eval()
        error = float((model.predict_proba(x_test).argmax(1) != y_test).float().mean()) * 100
        heads = model.heads()
        return round(error, 1), round(float(torch.cdist(heads, heads).mean()), 2)

    curve, last, seconds = train_scored(cfg, x, y, args, score)
    report(args, "base", "epoch, err, head spread", curve, last, ["recon_loss", "disc_acc"], seconds)


if __name__ == "__main__":
    main()
