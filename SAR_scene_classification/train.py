"""Pre-train a backbone on SAR scene classification (TSX / BEN / OSU) with DRAE and Mini-CBL (paper §3.1–3.2).

    torchrun --nproc_per_node 4 train.py --dataset TSX --model resnet50 --data-root /data/TSX
    python train.py                      # embedded default: simulated TSX-format scenes, short CPU run

`--dataset X` loads sarhub/recipes/scene/X.yaml (the paper's settings) as defaults; without --data-root sarhub/recipes/scene/simulator.yaml
makes the run a short CPU job; the command line overrides any of them. The pipeline: sarhub.pipelines.scene.
"""
from sarhub.cli import parse_config, run_main
from sarhub.pipelines import scene


def main(argv=None) -> None:
    scene.train(parse_config(scene.SceneConfig, argv, __doc__.splitlines()[0]))


if __name__ == "__main__":
    run_main(main)
