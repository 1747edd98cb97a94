"""Linear evaluation of frozen fusion features: a 1×1-conv classifier on labelled patches, scored on the test split.

    python linear_eval.py --checkpoint runs/early/checkpoint_last.pth runs/sar/checkpoint_last.pth ...
    python linear_eval.py --checkpoint ... --data-root /data/DFC2020/val --test-root /data/DFC2020/test --labels dfc

The encoder is frozen, so per-pixel features are computed once: `--pixels-per-patch` random labelled pixels of
every training patch train the classifier (a 1×1 convolution is a linear map per pixel; AdamW, full batch), then it
labels every pixel of the test patches. Reports overall accuracy, average (mean per-class) accuracy, mIoU and
per-class accuracy, writes the confusion matrix (CSV + PNG) per model and one row per model to the results table.
The pipeline: sarhub.pipelines.fusion.
"""
from sarhub.cli import parse_config, run_main
from sarhub.pipelines import fusion


def main(argv=None) -> None:
    fusion.linear_eval(parse_config(fusion.LinearEvalConfig, argv, __doc__.splitlines()[0]))


if __name__ == "__main__":
    run_main(main)
