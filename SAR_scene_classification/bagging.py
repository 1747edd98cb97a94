"""Bagging (predecessor paper, GRSL 2020): train K sub-models on bootstrap resamples, then score each and their vote.

    python bagging.py --k 5 --dataset TSX --model resnet18 --data-root /data/TSX --output runs/bag_TSX
    python test.py --checkpoint runs/bag_TSX/bag*/checkpoint_best.pth      # each model's and the ensemble's accuracy

All arguments other than --k are train.py's; member k trains with --bootstrap-seed k in <output>/bag<k>.
"""
import argparse
import sys
from pathlib import Path

from sarhub.cli import run_main
from sarhub.pipelines import scene

HERE = Path(__file__).resolve().parent


def main(argv=None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--output", default="runs/bagging")
    ours, rest = p.parse_known_args(argv)
    for k in range(ours.k):
        print(f"--- bagging member {k + 1}/{ours.k}")
        member = [*rest, "--bootstrap-seed", str(k), "--output", str(Path(ours.output) / f"bag{k}")]
        scene.train(scene.parse(member, HERE / "configs"))


if __name__ == "__main__":
    run_main(main)
