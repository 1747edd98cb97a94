#!/usr/bin/env bash
# Issue-15 SSDD detection runs on a CPU budget: FCOS + FPN ResNet-18 on the official SSDD split, from scratch and
# from resnet18-tsxslc, the same budget for both (short side 256, long side ≤ 416, 3 epochs, lr ×0.1 after epoch
# 2, bf16 autocast), each scored on all / inshore / offshore test images. BatchNorm trains in both (--freeze-bn no):
# MMDetection's frozen BN (norm_eval, our "auto" with weights) keeps the pre-training set's statistics, which do not
# fit SSDD's 8-bit input (the TSX-SLC input was amplitude/65535 after DRAE). Re-running resumes unfinished runs.
# --channels-last was added after the recorded runs (issue 28: 1.04x per step on this CPU on top of the library's
# levers, the same numbers within bf16; benchmarks/RESULTS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${SARHUB_SHARED_DATA:-../../shared/data}
for init in ${INITS:-scratch TSX-SLC}; do
  out=runs/real/ssdd_fcos_r18_$(echo "$init" | tr 'A-Z' 'a-z')
  [ -f "$out/done" ] && continue
  weights=(); [ "$init" = TSX-SLC ] && weights=(--weights resnet18-tsxslc)
  python train.py --dataset ssdd --data-root "$DATA/ssdd" --model resnet18 "${weights[@]}" --min-size 256 \
    --max-size 416 --epochs ${EPOCHS:-3} --lr-steps 2 --warmup-iters 200 --eval-every 100 --workers 0 --amp --freeze-bn no \
    --channels-last --output "$out" --resume auto
  python test.py --checkpoint "$out/checkpoint_last.pth" --init "$init"
  touch "$out/done"
done
