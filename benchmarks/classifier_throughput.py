"""Classifier training throughput: fp32 vs bf16 autocast + channels_last, images/s per backbone, side by side.

    python benchmarks/classifier_throughput.py [--models resnet18,resnet50,swin_t] [--size 128] [--batch 64]

One SGD step = forward, cross-entropy, backward, update, on random single-channel images (the sarhub models).
The ratio column is the bf16 + channels_last speed over fp32 for the same backbone.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from sarhub.backbones import create_model
from sarhub.cli import parse_config, run_main
from sarhub.config import option


def train_rate(name: str, size: int, batch: int, steps: int, device: torch.device, fast: bool) -> float:
    model = create_model(name, num_classes=10, img_size=size).to(device)
    x = torch.rand(batch, 1, size, size, device=device)
    if fast:
        model, x = model.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,), device=device)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def step():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=fast):
            loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()
    step()  # warm-up (cuDNN autotuning, allocator)
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    return batch * steps / (time.perf_counter() - start)


@dataclass
class ThroughputConfig:
    """The benchmark's options."""

    models: list[str] = option(factory=lambda: ["resnet18", "resnet50", "swin_t"], help="backbones timed")
    size: int = option(128, "input side", bounds=(16, 4096))
    batch: int = option(64, "batch size", bounds=(1, None))
    steps: int = option(10, "timed steps", bounds=(1, None))
    device: str = option("cpu", "cpu or cuda")


def main() -> None:
    args = parse_config(ThroughputConfig, None, __doc__.splitlines()[0])
    device = torch.device(args.device)
    print(f"classifier training, batch {args.batch} × {args.size}², {args.steps} steps, device {device}")
    print("| backbone | fp32 img/s | bf16 + channels_last img/s | ratio |\n|---|---|---|---|")
    for name in args.models:
        base = train_rate(name, args.size, args.batch, args.steps, device, fast=False)
        fast = train_rate(name, args.size, args.batch, args.steps, device, fast=True)
        print(f"| {name} | {base:,.1f} | {fast:,.1f} | {fast / base:.2f}× |", flush=True)


if __name__ == "__main__":
    run_main(main)
