"""Does the supervised AAE's decoder use the label? (paper §4, Fig. 7a)

    python benchmarks/supervised_style.py runs/style [--data-dir ../shared/data] [--styles 500]

Decodes ``--styles`` prior styles z with each of the ten labels and asks a judge, a logistic
regression trained on 20,000 MNIST training images (its accuracy on the test split is printed),
which digit each image shows. ``label use``: the fraction judged to be the label they were decoded
with (0.10 if the decoder ignores the label, up to the judge's accuracy if it writes every digit
in every style). ``style constancy``: the fraction of styles whose ten images the judge reads as
ten different digits. Prints one JSON object; the measured runs are in ``results/supervised/label_use.log``.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from aae.data import as_float, load_splits
from aae.errors import AAEError, exit_on_error
from aae.runs import load_run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--styles", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    try:
        print(json.dumps(label_use(args.run, args.data_dir, args.styles, args.seed), indent=1))
    except AAEError as e:
        exit_on_error(str(e))


def label_use(path: str, data_dir: str | None, styles: int, seed: int) -> dict:
    """The judge's accuracy and the two fractions described above, for the run at ``path``."""
    if styles < 1:
        raise AAEError(f"--styles must be at least 1, got {styles}")
    run = load_run(path)
    model = run.model.eval()
    if run.cfg.model != "supervised":
        raise AAEError(f"{path} is a {run.cfg.model!r} run; this measures supervised runs (mnist-supervised-style)")
    splits = load_splits("mnist", data_dir)
    x = as_float(splits.x_train[:20000]).numpy()
    judge = LogisticRegression(max_iter=200).fit(x, splits.y_train[:20000].numpy())
    judge_acc = judge.score(as_float(splits.x_test).numpy(), splits.y_test.numpy())
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        z = model.prior.sample(styles, g)
        z = z.repeat_interleave(10, 0)  # each style with labels 0..9
        labels = torch.arange(10).repeat(styles)
        images = model.decode(z, labels).float().numpy()
    read = judge.predict(images).reshape(styles, 10)
    used = float((read == np.arange(10)).mean())
    distinct = float(np.mean([len(set(r)) == 10 for r in read]))
    return {"run": path, "judge_test_accuracy": judge_acc, "label_use": used, "styles_with_ten_digits": distinct}


if __name__ == "__main__":
    main()
