"""Evaluate a segmentation checkpoint on the test split and its official subsets (SSDD: inshore, offshore):
CPA-<target>, mIoU, P, R (Eq. 11–14, Table 8), a Figure-6 style panel (image, ground truth, prediction), and rows
appended to results.md/.csv beside the paper's.

    python test.py --checkpoint runs/seg_resnet18/checkpoint_best.pth [--init TSX] [--panel 4]
    python test.py --checkpoint runs/ssdd_seg_resnet18/checkpoint_best.pth     # rows all / inshore / offshore
    python test.py --checkpoint C --ann my_ships/test.json --image-dir my_ships/images [--subset near=near.txt]

Scores are accumulated over each row's images from one confusion matrix, at every image's full resolution (the
prediction of a letterboxed input is resized back). P and R are the two-class means, as Table 8's numbers are (its
R differs from CPA, which is the target recall); target-only precision and recall are printed too. The panel of a
real data set goes to figures/ (--figures), a simulator run's beside its checkpoint.
The pipeline: sarhub.pipelines.segmentation.test.
"""
from sarhub.cli import parse_config, run_main
from sarhub.pipelines import segmentation


def main(argv=None) -> None:
    segmentation.test(parse_config(segmentation.SegmentationTestConfig, argv, __doc__.splitlines()[0]))


if __name__ == "__main__":
    run_main(main)
