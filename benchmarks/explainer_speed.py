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

import argparse
import time
from pathlib import Path

import torch

from sarhub.backbones import create_model
from sarhub.data.targets import MSTARDataset
from sarhub.explain.kp import explain
from sarhub.pipelines.common import load_classifier


def model_and_chips(args: argparse.Namespace) -> tuple[torch.nn.Module, torch.Tensor]:
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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", default=None, help="a target_recognition classifier (default: random ResNet-18)")
    p.add_argument("--data-root", default=None, help="its MSTAR root (default: the checkpoint's)")
    p.add_argument("--images", type=int, default=8)
    p.add_argument("--size", type=int, default=64, help="random chips' side (without --checkpoint)")
    p.add_argument("--grid", type=int, default=8)
    p.add_argument("--steps", type=int, default=300, help="today's recipe; the fast one runs a third of them")
    p.add_argument("--per-image", action="store_true", help="also time one explainer per chip (today's steps)")
    p.add_argument("--output", default=None, help="folder for the loss-curve PNG")
    args = p.parse_args()
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
        import matplotlib

        matplotlib.use("Agg")
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
    main()
