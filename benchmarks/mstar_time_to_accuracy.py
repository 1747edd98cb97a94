"""Time to accuracy on real MSTAR SOC: ResNet-18 from scratch, today's recipe vs the fast recipe, side by side.

    python benchmarks/mstar_time_to_accuracy.py --data-root ../shared/data/mstar_soc
    python benchmarks/mstar_time_to_accuracy.py --data-root ... --weights resnet18-tsxslc   # the fast recipe, pre-trained
    python benchmarks/mstar_time_to_accuracy.py --data-root ... --ablate                    # + the fast recipe minus each lever
    python benchmarks/mstar_time_to_accuracy.py --data-root ... --smoke                     # 1 epoch each, 2 % of chips

Each recipe is a target_recognition/train.py run (resumable: re-running the command continues unfinished runs)
whose test set is scored after every epoch for this measurement. Reported: training seconds until the test top-1
first reaches each --target (evaluation time excluded, since scoring every epoch is the benchmark's, not the
recipe's), the total training seconds, the last-epoch and best test top-1. Rows go to stdout as a markdown table.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from sarhub.cli import parse_config, run_main
from sarhub.config import option

REPO = Path(__file__).resolve().parents[1]
TRAIN = REPO / "target_recognition" / "train.py"
TODAY = "today (recipe mstar, fp32, StepLR, 36 epochs)"
TODAY_OPTIONS = ["--config", "mstar", "--img-size", "64", "--epochs", "36", "--step-size", "12"]
FAST = {"fast (recipe mstar_fast)": ["--config", "mstar_fast"]}
# The fast recipe with one lever put back the way today's recipe has it (StepLR: today's lr and x0.5 steps, scaled
# from 36 to the fast recipe's 20 epochs).
ABLATIONS = {
    "fast − bf16 autocast − channels_last (fp32)": ["--no-amp", "--no-channels-last"],
    "fast − one-cycle (StepLR lr 0.01, step 7)": ["--schedule", "step", "--lr", "0.01", "--step-size", "7"],
    "fast − label smoothing": ["--label-smoothing", "0"],
    "fast with batch 64 instead of 32": ["--batch-size", "64"],
}


def run_recipe(options: list[str], out: Path, data_root: str, smoke: bool) -> list[dict]:
    if smoke:
        options = options + ["--epochs", "1", "--fraction", "0.02"]
    cmd = [sys.executable, str(TRAIN), "--dataset", "mstar", "--data-root", data_root, "--model", "resnet18",
           "--workers", "0", "--eval-every", "1", "--resume", "auto", "--output", str(out), *options]
    subprocess.run(cmd, check=True, cwd=TRAIN.parent)
    return json.loads((out / "log.json").read_text())


def summarise(history: list[dict], targets: list[float]) -> dict:
    """(epoch, training seconds) when each target is first reached, for the targets that are."""
    train_s = 0.0
    reached: dict[float, tuple[int, float]] = {}
    for row in history:
        train_s += row["epoch_seconds"]
        for target in targets:
            if target not in reached and row.get("test_top1", 0.0) >= target:
                reached[target] = (row["epoch"], train_s)
    curve = [row["test_top1"] for row in history if "test_top1" in row]
    return {"reached": reached, "train_s": train_s, "last": curve[-1], "best": max(curve), "epochs": len(history)}


def slug(name: str) -> str:
    """A run-folder name for a recipe (stable whichever recipes a run includes)."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:60]


@dataclass
class TimeToAccuracyConfig:
    """The benchmark's options."""

    data_root: str | None = option(None, "MSTAR SOC root (train/ and test/ class folders)", required=True)
    target: list[float] = option(factory=lambda: [97.5, 98.5], help="test top-1 (%) to reach")
    weights: str | None = option(None, "also run the fast recipe from these weights (a Hub name or file)")
    output: str = option(str(REPO / "benchmarks" / "runs" / "mstar_tta"), "folder of the runs")
    ablate: bool = option(False, "also run the fast recipe without each of its levers")
    smoke: bool = option(False, "1 epoch on 2 % of the chips per recipe (a plumbing check)")


def main() -> None:
    args = parse_config(TimeToAccuracyConfig, None, __doc__.splitlines()[0])
    recipes = dict(FAST)  # today's recipe runs last: the fast rows land first if a session is cut short
    if args.weights:
        recipes[f"fast, --weights {args.weights}"] = ["--config", "mstar_fast", "--weights", args.weights]
    if args.ablate:
        recipes.update({name: ["--config", "mstar_fast", *extra] for name, extra in ABLATIONS.items()})
    recipes[TODAY] = TODAY_OPTIONS
    rows = {}
    for name, options in recipes.items():
        out = Path(args.output) / (("smoke_" if args.smoke else "") + slug(name))
        rows[name] = summarise(run_recipe(options, out, str(Path(args.data_root).resolve()), args.smoke), args.target)
    base = rows[TODAY]["reached"]
    print("\nMSTAR SOC, ResNet-18 from scratch unless said; train s (epoch) to first reach each test top-1; speed-up "
          "against today's recipe")
    heads = [f"to {t} %" for t in args.target] + [f"speed-up to {t} %" for t in args.target]
    print("| recipe | epochs | train s | " + " | ".join(heads) + " | last-epoch top-1 | best top-1 |")
    print("|---|---|---|" + "---|" * len(heads) + "---|---|")
    for name, r in sorted(rows.items(), key=lambda item: item[0] != TODAY):
        hits, ratios = [], []
        for t in args.target:
            hit = r["reached"].get(t)
            hits.append(f"{hit[1]:.0f} ({hit[0]})" if hit else "not reached")
            ratios.append(f"{base[t][1] / hit[1]:.2f}×" if hit and t in base else "—")
        print(f"| {name} | {r['epochs']} | {r['train_s']:.0f} | " + " | ".join(hits + ratios)
              + f" | {r['last']:.2f} | {r['best']:.2f} |")


if __name__ == "__main__":
    run_main(main)
