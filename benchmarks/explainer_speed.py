"""Knowledge-point explainer cost: seconds per image for one σ-U-Net trained on a batch of chips (sarhub.explain.kp)
vs the naive baseline of one explainer per image, side by side.

    python benchmarks/explainer_speed.py [--images 8] [--size 64] [--steps 30] [--device cpu|cuda]

Both explain the same frozen ResNet-18 with the same number of optimiser steps; the batched explainer shares each
step's forward/backward passes across the chips. Seconds per image for a full run scale linearly with --steps
(the README runs use 300).
"""
from __future__ import annotations

import argparse
import time

import torch

from sarhub.backbones import create_model
from sarhub.explain.kp import explain


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=8)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--grid", type=int, default=8)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = p.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)
    model = create_model("resnet18", num_classes=10).to(device).eval()
    images = torch.rand(args.images, 1, args.size, args.size, device=device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    explain(model, images[:1], grid=args.grid, steps=2)  # warm-up

    def run(batches: list[torch.Tensor]) -> float:
        sync()
        start = time.perf_counter()
        for batch in batches:
            explain(model, batch, grid=args.grid, steps=args.steps)
        sync()
        return (time.perf_counter() - start) / args.images

    per_image = run([images[i:i + 1] for i in range(args.images)])
    batched = run([images])
    print(f"KP explainer, ResNet-18, {args.images} chips of {args.size} px, grid {args.grid}, {args.steps} steps, "
          f"{device}, {torch.get_num_threads()} threads")
    print("| explainer | s / image | s / image for 300 steps | speed-up |")
    print("|---|---|---|---|")
    for name, sec in (("one per image (baseline)", per_image), ("one per batch (sarhub)", batched)):
        print(f"| {name} | {sec:.3f} | {sec * 300 / args.steps:.2f} | {per_image / sec:.2f}× |")


if __name__ == "__main__":
    main()
