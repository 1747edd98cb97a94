"""Bagging (predecessor paper, GRSL 2020): train K sub-models on bootstrap resamples, then score each and their vote.

    python bagging.py --k 5 --dataset TSX --model resnet18 --data-root /data/TSX --output runs/bag_TSX
    python test.py --checkpoint runs/bag_TSX/bag*/checkpoint_best.pth      # each model's and the ensemble's accuracy

All arguments other than --k are passed to train.py; member k trains with --bootstrap-seed k in <output>/bag<k>.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import train  # noqa: E402  (the sibling script)
from sarhub.cli import run_main  # noqa: E402


def main(argv=None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--output", default="runs/bagging")
    ours, rest = p.parse_known_args(argv)
    for k in range(ours.k):
        print(f"--- bagging member {k + 1}/{ours.k}")
        train.main([*rest, "--bootstrap-seed", str(k), "--output", str(Path(ours.output) / f"bag{k}")])


if __name__ == "__main__":
    run_main(main)
