"""Evaluate a target-recognition checkpoint: overall and per-class accuracy, macro F1, confusion matrix (PNG + CSV),
and a Table-6 row (backbone, pre-training source, setting, accuracy) appended to results.md/.csv.

    python test.py --checkpoint runs/mstar100_resnet18/checkpoint_last.pth --init TSX

The pipeline: sarhub.pipelines.targets.test.
"""
from sarhub.cli import parse_config, run_main
from sarhub.pipelines import targets


def main(argv=None) -> None:
    targets.test(parse_config(targets.TargetTestConfig, argv, __doc__.splitlines()[0]))


if __name__ == "__main__":
    run_main(main)
