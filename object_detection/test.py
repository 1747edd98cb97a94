"""Evaluate a detection checkpoint: COCO AP, AP50, AP75, AP_S/M/L on the test split and on its official subsets
(SSDD: inshore, offshore), a PNG of predicted (red) and true (green) boxes on a few test images, and Table-7 rows
(backbone, pre-training, dataset, subset, epoch of the checkpoint, AP, AP50) appended to results.md/.csv beside the
paper's.

    python test.py --checkpoint runs/hrsid_resnet50/checkpoint_best.pth --init TSX
    python test.py --checkpoint runs/ssdd_resnet18/checkpoint_last.pth        # rows all / inshore / offshore
    python test.py --checkpoint C --ann my_ships/test.json --image-dir my_ships/images [--subset near=near.txt]

Detections are computed once; a subset's AP is the COCO evaluation restricted to its images.
The pipeline: sarhub.pipelines.detection.test.
"""
from sarhub.cli import parse_config, run_main
from sarhub.pipelines import detection


def main(argv=None) -> None:
    detection.test(parse_config(detection.DetectionTestConfig, argv, __doc__.splitlines()[0]))


if __name__ == "__main__":
    run_main(main)
