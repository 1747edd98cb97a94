"""CAM maps of SAR classifiers (paper Figure 7): GradCAM++, LayerCAM and Guided GradCAM++ per model, one PNG panel
per image (rows = models, columns = methods), plus the channel-mean feature maps of the four stages (Figure 7a).

    python cam.py --checkpoint scratch=runA/checkpoint_last.pth --checkpoint tsx=runB/checkpoint_last.pth --num-images 4

Figure 7's "frozen backbone + trained classifier" models are trained with target_recognition/train.py
--freeze-backbone (a linear probe). Guided backprop only changes ReLUs: for Swin (GELU) the "Guided GradCAM++"
column is the plain input gradient × GradCAM++, and the script says so.
The pipeline: sarhub.pipelines.explain.
"""
from sarhub.cli import parse_config, run_main
from sarhub.pipelines import explain


def main(argv=None) -> None:
    explain.cams(parse_config(explain.CAMConfig, argv, __doc__.splitlines()[0]))


if __name__ == "__main__":
    run_main(main)
