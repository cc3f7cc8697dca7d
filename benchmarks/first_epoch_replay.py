"""Does a refactoring change training? One seeded epoch of every preset (small layers, tiny 8x8
images, float32, one CPU thread) on the code of two commits, compared row by row.

    python benchmarks/first_epoch_replay.py --before d242c11 [--after HEAD] [--presets P ...]
        [--results results/first_epoch_replay]

Each commit is checked out into a temporary ``git worktree`` and imported from there
(``PYTHONPATH``), so both run in this environment. Every preset trains one epoch from seed 0 on
the same 200 tiny images (half of them unlabeled for the presets that keep few labels) with
``network.hidden=[16, 16]``, ``network.disc_hidden=[8]``, ``batch_size=20``; the per-epoch
metrics (losses, accuracies, learning rates; not the timings) must be equal to the last digit.
Writes ``first_epoch_replay.md`` and ``.json`` with both commits and each preset's verdict.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: run inside each commit's tree: prints {preset: first-epoch metrics} as JSON
CHILD = r"""
import json, sys
import numpy as np, torch
from aae.config import apply_overrides
from aae.models import build_model
from aae.presets import PRESETS, get_preset
from aae.training import Trainer
torch.set_num_threads(1)
names = json.loads(sys.argv[1]) or list(PRESETS)
rng = np.random.default_rng(0)
y_all = np.arange(200) % 10
x_all = np.clip(rng.normal(y_all[:, None] / 10, 0.2, (200, 64)), 0, 1).astype(np.float32)
out = {}
for name in names:
    sets = ["network.hidden=[16, 16]", "network.disc_hidden=[8]", "batch_size=20", 'device="cpu"',
            'precision="float32"', "labeled_batch_size=10"]
    cfg = apply_overrides(get_preset(name), sets)
    x, y = torch.from_numpy(x_all), torch.from_numpy(y_all).long()
    if cfg.data.n_labeled >= 0:
        y = y.clone()
        y[100:] = -1
    torch.manual_seed(0)
    tr = Trainer(build_model(cfg, 64, 10, (8, 8)), cfg, x, y)
    tr.fit(1)
    out[name] = {k: v for k, v in tr.history[0].items() if "second" not in k}
print(json.dumps(out, default=float))
"""


def first_epochs(ref: str, presets: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), ref], check=True,
                       capture_output=True)  # fmt: skip
        try:
            env = {**os.environ, "PYTHONPATH": str(tree / "src"), "OMP_NUM_THREADS": "1"}
            done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(presets)], env=env, check=True,
                                  capture_output=True, text=True, cwd=tmp)  # fmt: skip
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def short(ref: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", ref], check=True, capture_output=True,
                          text=True).stdout.strip()  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True, help="the commit before the change")
    ap.add_argument("--after", default="HEAD", help="the commit after it (default: HEAD)")
    ap.add_argument("--presets", nargs="*", default=[], help="default: the presets both commits have")
    ap.add_argument("--results", type=Path, default=ROOT / "results" / "first_epoch_replay")
    args = ap.parse_args()
    before, after = first_epochs(args.before, args.presets), first_epochs(args.after, args.presets)
    rows = [(name, before[name] == after[name], len(before[name])) for name in before if name in after]
    res = {"before": short(args.before), "after": short(args.after), "same": {n: ok for n, ok, _ in rows},
           "command": "python benchmarks/first_epoch_replay.py " + " ".join(sys.argv[1:])}  # fmt: skip
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "first_epoch_replay.json").write_text(json.dumps(res, indent=1) + "\n")
    same = sum(ok for _, ok, _ in rows)
    md = [f"# first epoch of every preset at {res['before']} and {res['after']}", "",
          f"{same} of {len(rows)} presets give the same first-epoch metrics to the last digit.", "",
          "| preset | metrics compared | the same |", "|---|---|---|",
          *[f"| `{n}` | {k} | {'yes' if ok else '**no**'} |" for n, ok, k in rows],
          "", f"Command: `{res['command']}`.", ""]  # fmt: skip
    (args.results / "first_epoch_replay.md").write_text("\n".join(md))
    print("\n".join(md))
    sys.exit(0 if same == len(rows) else 1)


if __name__ == "__main__":
    main()
