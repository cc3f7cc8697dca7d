"""Does the supervised AAE's decoder use the label? (paper §4, Fig. 7a)

    python benchmarks/supervised_style.py runs/style [--data-dir ../shared/data] [--styles 500]

Decodes ``--styles`` prior styles z with each of the ten labels and asks a judge, a logistic
regression trained on 20,000 MNIST training images (its accuracy on the test split is printed),
which digit each image shows. ``label use``: the fraction judged to be the label they were decoded
with (0.10 if the decoder ignores the label, up to the judge's accuracy if it writes every digit
in every style). ``style constancy``: the fraction of styles whose ten images the judge reads as
ten different digits.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from aae.data import as_float, load_splits
from aae.experiments import load_run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--styles", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    splits = load_splits("mnist", args.data_dir)
    x = as_float(splits.x_train[:20000]).numpy()
    judge = LogisticRegression(max_iter=200).fit(x, splits.y_train[:20000].numpy())
    judge_acc = judge.score(as_float(splits.x_test).numpy(), splits.y_test.numpy())

    run = load_run(args.run)
    model = run.model.eval()
    g = torch.Generator().manual_seed(args.seed)
    with torch.no_grad():
        z = model.prior.sample(args.styles, g)
        z = z.repeat_interleave(10, 0)  # each style with labels 0..9
        labels = torch.arange(10).repeat(args.styles)
        images = model.decode(z, labels).float().numpy()
    read = judge.predict(images).reshape(args.styles, 10)
    label_use = float((read == np.arange(10)).mean())
    distinct = float(np.mean([len(set(r)) == 10 for r in read]))
    out = {"run": args.run, "judge_test_accuracy": judge_acc, "label_use": label_use}
    out["styles_with_ten_digits"] = distinct
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
