"""Time to accuracy on real MSTAR SOC: ResNet-18 from scratch, today's recipe vs the fast recipe, side by side.

    python benchmarks/mstar_time_to_accuracy.py --data-root ../shared/data/mstar_soc
    python benchmarks/mstar_time_to_accuracy.py --data-root ... --weights resnet18-tsxslc   # the fast recipe, pre-trained
    python benchmarks/mstar_time_to_accuracy.py --data-root ... --smoke                     # 1 epoch each, 1 % of chips

Each recipe is a target_recognition/train.py run (resumable: re-running the command continues unfinished runs)
whose test set is scored after every epoch for this measurement. Reported: training seconds until the test top-1
first reaches --target (evaluation time excluded, since scoring every epoch is the benchmark's, not the recipe's),
wall seconds including evaluation, the last-epoch and best test top-1. Rows go to stdout as a markdown table.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TRAIN = REPO / "target_recognition" / "train.py"
RECIPES = {
    "today (configs/mstar.yaml, fp32, StepLR, 36 epochs)": ["--config", "mstar", "--img-size", "64", "--epochs", "36",
                                                            "--step-size", "12"],
    "fast (configs/mstar_fast.yaml)": ["--config", "mstar_fast"],
}


def run_recipe(options: list[str], out: Path, data_root: str, smoke: bool) -> list[dict]:
    if smoke:
        options = options + ["--epochs", "1", "--fraction", "0.02"]
    cmd = [sys.executable, str(TRAIN), "--dataset", "mstar", "--data-root", data_root, "--model", "resnet18",
           "--workers", "0", "--eval-every", "1", "--resume", "auto", "--output", str(out), *options]
    subprocess.run(cmd, check=True, cwd=TRAIN.parent)
    return json.loads((out / "log.json").read_text())


def summarise(history: list[dict], target: float) -> dict:
    train_s = wall_s = 0.0
    reached = None
    for row in history:
        train_s += row["epoch_seconds"]
        wall_s += row["epoch_seconds"] + row.get("eval_seconds", 0.0)
        if reached is None and row.get("test_top1", 0.0) >= target:
            reached = (row["epoch"], train_s, wall_s)
    curve = [row["test_top1"] for row in history if "test_top1" in row]
    return {"reached": reached, "train_s": train_s, "wall_s": wall_s, "last": curve[-1], "best": max(curve),
            "epochs": len(history)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-root", required=True, help="MSTAR SOC root (train/ and test/ class folders)")
    p.add_argument("--target", type=float, default=97.5, help="test top-1 (%) to reach")
    p.add_argument("--weights", default=None, help="also run the fast recipe from these weights (a Hub name or file)")
    p.add_argument("--output", default=str(REPO / "benchmarks" / "runs" / "mstar_tta"))
    p.add_argument("--smoke", action="store_true", help="1 epoch on 2 %% of the chips per recipe (a plumbing check)")
    args = p.parse_args()
    recipes = dict(RECIPES)
    if args.weights:
        recipes[f"fast, --weights {args.weights}"] = ["--config", "mstar_fast", "--weights", args.weights]
    rows = {}
    for i, (name, options) in enumerate(recipes.items()):
        out = Path(args.output) / (f"smoke{i}" if args.smoke else f"recipe{i}")
        rows[name] = summarise(run_recipe(options, out, str(Path(args.data_root).resolve()), args.smoke), args.target)
    base = next(iter(rows.values()))
    print(f"\nMSTAR SOC, ResNet-18 from scratch unless said, target {args.target} % test top-1")
    print("| recipe | epochs | train s to target (epoch) | wall s to target | speed-up | last-epoch top-1 | best top-1 |")
    print("|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        if r["reached"]:
            epoch, train_s, wall_s = r["reached"]
            hit = f"{train_s:.0f} ({epoch})"
            ratio = f"{base['reached'][1] / train_s:.2f}×" if base["reached"] else "—"
            wall = f"{wall_s:.0f}"
        else:
            hit, wall, ratio = f"not reached in {r['train_s']:.0f}", "—", "—"
        print(f"| {name} | {r['epochs']} | {hit} | {wall} | {ratio} | {r['last']:.2f} | {r['best']:.2f} |")


if __name__ == "__main__":
    main()
