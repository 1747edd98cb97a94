"""Knowledge-point explainer cost at equal quality: seconds per image and the converged loss of today's recipe vs
bf16 autocast at the same steps and vs a third of the steps with a cosine schedule and a higher peak, side by side.

    python benchmarks/explainer_speed.py                                  # random ResNet-18, random chips
    python benchmarks/explainer_speed.py --checkpoint ../target_recognition/runs/real/mstar100_scratch_s0/checkpoint_last.pth \
        --data-root ../shared/data/mstar_soc --images 16 --output benchmarks/figures
    python benchmarks/explainer_speed.py --per-image                      # also: one explainer per chip (naive)

Every recipe explains the same frozen model on the same chips with one σ-U-Net per batch; a faster recipe counts
only when it reaches the baseline's converged loss (lower is better). --output saves explainer_loss_curves.png.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch

from sarhub.backbones import create_model
from sarhub.cli import parse_config, run_main
from sarhub.config import option
from sarhub.data.targets import MSTARDataset
from sarhub.explain.kp import explain
from sarhub.pipelines.common import load_classifier


def model_and_chips(args: ExplainerSpeedConfig) -> tuple[torch.nn.Module, torch.Tensor]:
    if args.checkpoint is None:
        torch.manual_seed(0)
        return create_model("resnet18", num_classes=10).eval(), torch.rand(args.images, 1, args.size, args.size)
    model, run, preprocess = load_classifier(args.checkpoint)
    data = MSTARDataset(args.data_root or run["data_root"], "test", crop=run.get("crop", 128),
                        image_size=run.get("img_size"), classes=run["classes"])
    pick = torch.randperm(len(data), generator=torch.Generator().manual_seed(0))[:args.images].tolist()
    raw = torch.stack([data[i]["image"] for i in pick])
    return model, preprocess(raw)


def converged(history: list[dict]) -> float:
    """The converged loss: mean Eq.-10 loss over the last 10 % of the steps."""
    tail = history[-max(1, len(history) // 10):]
    return sum(h["total"] for h in tail) / len(tail)


@dataclass
class ExplainerSpeedConfig:
    """The benchmark's options."""

    checkpoint: str | None = option(None, "a target_recognition classifier (default: random ResNet-18)")
    data_root: str | None = option(None, "its MSTAR root (default: the checkpoint's)")
    images: int = option(8, "chips explained", bounds=(1, None))
    size: int = option(64, "random chips' side (without a checkpoint)", bounds=(16, 4096))
    grid: int = option(8, "units per side", bounds=(1, None))
    steps: int = option(300, "today's recipe; the fast one runs a third of them", bounds=(3, None))
    per_image: bool = option(False, "also time one explainer per chip (today's steps)")
    output: str | None = option(None, "folder for the loss-curve PNG")


def main() -> None:
    args = parse_config(ExplainerSpeedConfig, None, __doc__.splitlines()[0])
    model, chips = model_and_chips(args)
    explain(model, chips[:1], grid=args.grid, steps=2)  # warm-up
    recipes = {
        "today: fp32, lr 1e-3 constant": dict(steps=args.steps, lr=1e-3, schedule="constant", amp=False),
        "bf16, same steps": dict(steps=args.steps, lr=1e-3, schedule="constant", amp=True),
        "bf16, a third of the steps, lr 1e-2 cosine": dict(steps=args.steps // 3, lr=1e-2, schedule="cosine",
                                                           amp=True),
    }
    rows, curves = [], {}
    if args.per_image:
        start = time.perf_counter()
        losses = [explain(model, chips[i:i + 1], grid=args.grid, **recipes["today: fp32, lr 1e-3 constant"]).history
                  for i in range(len(chips))]
        sec = (time.perf_counter() - start) / len(chips)
        rows.append(("one explainer per chip, fp32", args.steps, sec, sum(map(converged, losses)) / len(losses)))
    for name, recipe in recipes.items():
        start = time.perf_counter()
        history = explain(model, chips, grid=args.grid, **recipe).history
        sec = (time.perf_counter() - start) / len(chips)
        rows.append((name, recipe["steps"], sec, converged(history)))
        curves[name] = history
    base = next(sec for name, _, sec, _ in rows if name.startswith("today"))
    print(f"KP explainer, {'checkpoint ' + args.checkpoint if args.checkpoint else 'random ResNet-18'}, "
          f"{len(chips)} chips of {chips.shape[-1]} px, grid {args.grid}, {torch.get_num_threads()} threads")
    print("| recipe | steps | s / image | converged loss | speed vs today |")
    print("|---|---|---|---|---|")
    for name, steps, sec, loss in rows:
        print(f"| {name} | {steps} | {sec:.3f} | {loss:.4f} | {base / sec:.2f}× |")
    if args.output:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 3.5))
        for name, history in curves.items():
            frac = [(i + 1) / len(history) for i in range(len(history))]
            ax.plot(frac, [h["total"] for h in history], label=f"{name} ({len(history)} steps)")
        ax.set_xlabel("fraction of the recipe's steps")
        ax.set_ylabel("Eq. 10 loss")
        ax.legend(fontsize=7)
        fig.tight_layout()
        Path(args.output).mkdir(parents=True, exist_ok=True)
        fig.savefig(Path(args.output) / "explainer_loss_curves.png", dpi=120)


if __name__ == "__main__":
    run_main(main)
