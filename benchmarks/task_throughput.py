"""Detection (FCOS) and segmentation (DeepLabV3) throughput per backbone: training and evaluation images/s.

    python benchmarks/task_throughput.py [--task detection|segmentation|both] [--size 256] [--batch 2] [--steps 3]

Runs each backbone on random single-channel images of the given size (detection: two boxes per image) and prints
a table; the baseline column is ResNet-18, the ratio the speed relative to it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from sarhub.cli import parse_config, run_main
from sarhub.config import option
from sarhub.models.detection import DETECTION_BACKBONES, build_fcos
from sarhub.models.segmentation import SEGMENTATION_BACKBONES, build_deeplabv3


def rate(fn, images: int, steps: int) -> float:
    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    return images * steps / (time.perf_counter() - start)


def bench_detection(name: str, size: int, batch: int, steps: int, device: torch.device) -> tuple[float, float]:
    model = build_fcos(name, 1, min_size=size, max_size=size).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    images = [torch.rand(1, size, size, device=device) for _ in range(batch)]
    box = torch.tensor([[10.0, 10.0, 60.0, 40.0], [size / 2, size / 2, size / 2 + 30, size / 2 + 50]], device=device)
    targets = [{"boxes": box, "labels": torch.zeros(2, dtype=torch.int64, device=device)} for _ in range(batch)]

    def train():
        model.train()
        opt.zero_grad()
        sum(model(images, targets).values()).backward()
        opt.step()

    def evaluate():
        model.eval()
        with torch.no_grad():
            model(images)

    return rate(train, batch, steps), rate(evaluate, batch, steps)


def bench_segmentation(name: str, size: int, batch: int, steps: int, device: torch.device) -> tuple[float, float]:
    model = build_deeplabv3(name, 2, img_size=size).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    x = torch.rand(batch, 1, size, size, device=device)
    y = torch.randint(0, 2, (batch, size, size), device=device)

    def train():
        model.train()
        opt.zero_grad()
        out = model(x)
        (torch.nn.functional.cross_entropy(out["out"], y) + 0.4 * torch.nn.functional.cross_entropy(out["aux"], y)).backward()
        opt.step()

    def evaluate():
        model.eval()
        with torch.no_grad():
            model(x)

    return rate(train, batch, steps), rate(evaluate, batch, steps)


@dataclass
class TaskThroughputConfig:
    """The benchmark's options."""

    task: str = option("both", "the heads timed", choices=("detection", "segmentation", "both"))
    size: int = option(256, "input side", bounds=(16, 4096))
    batch: int = option(2, "batch size", bounds=(1, None))
    steps: int = option(3, "timed steps", bounds=(1, None))
    backbones: list[str] | None = option(None, "subset of backbones (default: every one)")
    device: str = option("cpu", "cpu or cuda")


def main() -> None:
    args = parse_config(TaskThroughputConfig, None, __doc__.splitlines()[0])
    device = torch.device(args.device)
    tasks = ["detection", "segmentation"] if args.task == "both" else [args.task]
    for task in tasks:
        names, bench = ((DETECTION_BACKBONES, bench_detection) if task == "detection"
                        else (SEGMENTATION_BACKBONES, bench_segmentation))
        names = args.backbones or names
        print(f"\n{task}, {args.batch} × {args.size}² per step, {args.steps} steps, device {device}")
        print("| backbone | train img/s | eval img/s | train ratio to resnet18 | eval ratio |\n|---|---|---|---|---|")
        base = None
        for name in names:
            tr, ev = bench(name, args.size, args.batch, args.steps, device)
            base = base or (tr, ev)
            print(f"| {name} | {tr:.2f} | {ev:.2f} | {tr / base[0]:.2f} | {ev / base[1]:.2f} |", flush=True)


if __name__ == "__main__":
    run_main(main)
