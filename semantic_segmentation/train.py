"""Fine-tune DeepLabV3 on SAR segmentation (SpaceNet6 buildings, paper Table 8; SSDD ship masks) from any backbone.

    torchrun --nproc_per_node 4 train.py --model resnet18 --weights resnet18-tsx --data-root /data/SN6_buildings/train/AOI_11_Rotterdam
    python train.py --dataset ssdd --data-root ../../shared/data/ssdd --weights resnet18-tsx   # official polygons
    python train.py --dataset coco --data-root D --train-ann a/train.json --test-ann a/test.json --image-dir images
    python train.py                        # embedded default: simulated SpaceNet6-format urban tiles, short CPU run

Paper recipe (sarhub/recipes/segmentation/spacenet6.yaml): SGD lr 1e-3, momentum 0.9, wd 1e-4, poly (power 0.9, min lr 1e-4), batch 2,
20,000 iterations with an evaluation every 2,000, random resize 0.5–2 + 512 crop + flip + photometric jitter, Dice
loss, auxiliary FCN head on stage 3 weighted 0.4. The engine's "epoch" here is one evaluation interval.
COCO sets (SSDD, sarhub/recipes/segmentation/ssdd.yaml): masks rasterised from the instance annotations, every image letterboxed to
--input-size before the augmentation, a seeded --val-fraction of the training images held out for model selection
(checkpoint_best on its mIoU; the test split is only scored by test.py, at each image's full resolution).
Without --data-root, sarhub/recipes/segmentation/simulator.yaml applies. The pipeline: sarhub.pipelines.segmentation.
"""
from sarhub.cli import parse_config, run_main
from sarhub.pipelines import segmentation


def main(argv=None) -> None:
    segmentation.train(parse_config(segmentation.SegmentationConfig, argv, __doc__.splitlines()[0]))


if __name__ == "__main__":
    run_main(main)
