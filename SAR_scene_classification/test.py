"""Evaluate a scene-classification checkpoint and append a row to results.md/.csv (layout of Tables 1 and 3).

    python test.py --checkpoint runs/TSX_resnet50/checkpoint_best.pth
    python test.py --checkpoint ... --gamma 0.95,0.98,0.99,1.0,1.01,1.02,1.05     # Table 2 robustness test

Reports top-1/top-5, per-class accuracy, macro F1 (micro F1 for multi-label BEN), saves the confusion matrix
(PNG + CSV) beside the checkpoint; the data path, DRAE setting and normalisation come from the checkpoint.
The pipeline: sarhub.pipelines.scene.test.
"""
from sarhub.cli import parse_config, run_main
from sarhub.pipelines import scene


def main(argv=None) -> None:
    scene.test(parse_config(scene.SceneTestConfig, argv, __doc__.splitlines()[0]))


if __name__ == "__main__":
    run_main(main)
