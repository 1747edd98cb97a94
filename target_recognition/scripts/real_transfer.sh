#!/usr/bin/env bash
# Issue-15 transfer runs on the real MSTAR sets (../../shared/data), one init at a time, resumable:
#   bash scripts/real_transfer.sh scratch            # from random init
#   bash scripts/real_transfer.sh TSX-SLC WEIGHTS    # from a pre-trained backbone (a Model-Hub name or a file)
# Every run is the same recipe (sarhub/recipes/targets/mstar.yaml: SGD 0.01, StepLR ×0.5, batch 32, per-chip standardisation) at
# 64 px with bf16 autocast on the CPU; only the init differs. Re-running the command resumes unfinished runs.
set -euo pipefail
cd "$(dirname "$0")/.."
INIT=${1:?init label: scratch, TSX-SLC, SIM, ...}; WEIGHTS=${2:-}
DATA=${SARHUB_SHARED_DATA:-../../shared/data}
COMMON=(--dataset mstar --model resnet18 --img-size 64 --workers 0 --amp --channels-last --resume auto)
[ -n "$WEIGHTS" ] && COMMON+=(--weights "$WEIGHTS")
tag=$(echo "$INIT" | tr 'A-Z' 'a-z' | tr -c 'a-z0-9\n' '-')
run() {  # output, then train.py options
  local out=runs/real/$1; shift
  [ -f "$out/done" ] && return 0
  python train.py "${COMMON[@]}" --output "$out" "$@"
  python test.py --checkpoint "$out/checkpoint_last.pth" --init "$INIT"
  touch "$out/done"
}
for seed in ${SEEDS:-0 1 2}; do
  run "mstar10_${tag}_s$seed" --data-root "$DATA/mstar_soc" --fraction 0.1 --epochs 100 --step-size 33 --eval-every 10 --seed "$seed"
done
run "mstar30_${tag}_s0" --data-root "$DATA/mstar_soc" --fraction 0.3 --epochs 60 --step-size 20 --eval-every 10 --seed 0
run "eoc1_${tag}_s0" --data-root "$DATA/mstar_eoc_depression" --epochs 36 --step-size 12 --eval-every 6 --seed 0
run "mstar100_${tag}_s0" --data-root "$DATA/mstar_soc" --epochs 36 --step-size 12 --eval-every 6 --seed 0
for seed in ${SEEDS:-1 2}; do
  run "mstar30_${tag}_s$seed" --data-root "$DATA/mstar_soc" --fraction 0.3 --epochs 60 --step-size 20 --eval-every 10 --seed "$seed"
done
