"""Bagging (predecessor paper, GRSL 2020): train K sub-models on bootstrap resamples, then score each and their vote.

    python bagging.py --k 5 --dataset TSX --model resnet18 --data-root /data/TSX --output runs/bag_TSX
    python test.py --checkpoint runs/bag_TSX/bag*/checkpoint_best.pth      # each model's and the ensemble's accuracy

All arguments other than --k are train.py's; member k trains with --bootstrap-seed k in <output>/bag<k>.
"""
from sarhub.cli import parse_config, run_main
from sarhub.pipelines import scene


def main(argv=None) -> None:
    scene.bagging(parse_config(scene.BaggingConfig, argv, __doc__.splitlines()[0]))


if __name__ == "__main__":
    run_main(main)
