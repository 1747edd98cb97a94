"""CAM maps of SAR classifiers (paper Figure 7): GradCAM++, LayerCAM and Guided GradCAM++ per model, one PNG panel
per image (rows = models, columns = methods), plus the channel-mean feature maps of the four stages (Figure 7a).

    python cam.py --checkpoint scratch=runA/checkpoint_last.pth --checkpoint tsx=runB/checkpoint_last.pth --num-images 4

Figure 7's "frozen backbone + trained classifier" models are trained with target_recognition/train.py
--freeze-backbone (a linear probe). Guided backprop only changes ReLUs: for Swin (GELU) the "Guided GradCAM++"
column is the plain input gradient × GradCAM++, and the script says so.
The pipeline: sarhub.pipelines.explain.
"""
from pathlib import Path

from sarhub.cli import run_main
from sarhub.pipelines import explain

# the embedded default classifier trains as target_recognition/train.py would (its configs apply)
TARGET_CONFIGS = Path(__file__).resolve().parents[1] / "target_recognition" / "configs"


def main(argv=None) -> None:
    explain.cams(explain.parse_cam(argv, __doc__.splitlines()[0]), TARGET_CONFIGS)


if __name__ == "__main__":
    run_main(main)
