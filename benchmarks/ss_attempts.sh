#!/usr/bin/env bash
# Short semi-supervised attempts (100 labels): one line of val/test error per variant.
#   bash benchmarks/ss_attempts.sh EPOCHS NAME "--set a=b --set c=d" [NAME "..."]...
set -u
epochs=$1; shift
mkdir -p results/semisupervised
while [ $# -ge 2 ]; do
  name=$1; sets=$2; shift 2
  out=runs/ss-attempts/$name
  # shellcheck disable=SC2086
  .venv/bin/python -m aae train mnist-semisupervised-100 --epochs "$epochs" --out "$out" --overwrite \
    --data-dir ../shared/data --quiet $sets > "$out.log" 2>&1 || { echo "$name failed" >> results/semisupervised/attempts.log; continue; }
  python3 - "$name" "$out" "$epochs" "$sets" >> results/semisupervised/attempts.log <<'PY'
import json, sys
name, out, epochs, sets = sys.argv[1:]
s = json.load(open(f"{out}/summary.json"))
curve = [round(json.loads(l)["val_error"], 2) for l in open(f"{out}/metrics.jsonl")]
print(f"{name}: {epochs} epochs {sets!r}: test_error {s['test_error']:.2f} %, val curve {curve}, "
      f"recon_mse {s['recon_mse']:.4f}, {s['train_seconds']/60:.1f} min")
PY
done
