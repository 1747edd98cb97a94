#!/usr/bin/env bash
# Issue-20 SSDD ship segmentation on a CPU budget: DeepLabV3 ResNet-18 + Dice (sarhub/recipes/segmentation/ssdd.yaml) from scratch and
# from resnet18-tsxslc (INITS="scratch TSX-SLC SIM" adds the simulator-pretrained one), the same budget for both (letterbox to 256 px, 256 crops, output stride 16, 300 iterations
# of batch 8 ≈ 2.9 passes, bf16 autocast), model selected on the held-out 10 % of the training images, scored on
# all / inshore / offshore test images. Re-running resumes unfinished runs. --channels-last was added after the
# recorded runs (issue 28: 1.09x per step on this CPU on top of the library's levers; benchmarks/RESULTS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${SARHUB_SHARED_DATA:-../../shared/data}
for init in ${INITS:-scratch TSX-SLC}; do
  out=runs/real/ssdd_seg_r18_$(echo "$init" | tr 'A-Z' 'a-z')
  [ -f "$out/done" ] && continue
  weights=(); [ "$init" = TSX-SLC ] && weights=(--weights resnet18-tsxslc)
  [ "$init" = SIM ] && weights=(--weights ../SAR_scene_classification/runs/sim250_TSX_resnet18_64/checkpoint_best.pth)
  python train.py --dataset ssdd --data-root "$DATA/ssdd" --model resnet18 "${weights[@]}" --input-size 256 \
    --crop-size 256 --img-size 256 --output-stride 16 --iterations ${ITERATIONS:-300} --eval-interval 100 \
    --workers 0 --amp --channels-last --output "$out" --resume auto
  python test.py --checkpoint "$out/checkpoint_best.pth" --init "$init"
  touch "$out/done"
done
