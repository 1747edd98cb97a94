"""Training throughput of sarhub.engine vs a bare PyTorch loop: same model, same in-memory batches, same optimiser.

    python benchmarks/engine_throughput.py [--model resnet18] [--size 64] [--batch 32] [--steps 20] [--device cpu]

The engine adds progress bars, loss accumulation without per-step syncs, scheduling and (optionally) the DRAE
preprocessing; the ratio shows what that costs. A third row adds the on-device DRAE + normalisation.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from sarhub import create_model
from sarhub.classification import classification_step
from sarhub.cli import parse_config, run_main
from sarhub.config import option
from sarhub.distributed import DistEnv
from sarhub.drae import PAPER_DRAE, DRAEConfig
from sarhub.engine import FitConfig, train_one_epoch
from sarhub.preprocess import Preprocess


@dataclass
class EngineThroughputConfig:
    """The benchmark's options."""

    model: str = option("resnet18", "backbone")
    size: int = option(64, "input side", bounds=(16, 4096))
    batch: int = option(32, "batch size", bounds=(1, None))
    steps: int = option(20, "steps per round", bounds=(1, None))
    rounds: int = option(3, "alternating rounds; the best of each is kept", bounds=(1, None))
    device: str = option("cpu", "cpu or cuda")


def main() -> None:
    args = parse_config(EngineThroughputConfig, None, __doc__.splitlines()[0])
    device = torch.device(args.device)
    g = torch.Generator().manual_seed(0)
    batches = [{"image": torch.rand(args.batch, 1, args.size, args.size, generator=g),
                "label": torch.randint(0, 10, (args.batch,), generator=g)} for _ in range(args.steps)]
    model = create_model(args.model, num_classes=10, img_size=args.size).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def bare() -> None:
        model.train()
        for batch in batches:
            x, y = batch["image"].to(device), batch["label"].to(device)
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            opt.step()
        sync()

    env = DistEnv(0, 1, 0, device)
    cfg = FitConfig(epochs=1, output_dir=".", log_every=10)
    ce = torch.nn.CrossEntropyLoss()
    plain = classification_step(Preprocess(DRAEConfig(), [0.0], [1.0]).to(device), ce, device)
    drae = classification_step(Preprocess(PAPER_DRAE["TSX"], [0.5], [0.25]).to(device), ce, device)

    def engine(step) -> None:
        train_one_epoch(model, batches, step, opt, None, env, 0, cfg, 0)
        sync()

    timings = {"bare loop": [], "engine": [], "engine + DRAE": []}
    runs = {"bare loop": bare, "engine": lambda: engine(plain), "engine + DRAE": lambda: engine(drae)}
    bare()  # warm-up
    for _ in range(args.rounds):
        for name, fn in runs.items():
            start = time.perf_counter()
            fn()
            timings[name].append(time.perf_counter() - start)
    images = args.batch * args.steps
    base = images / min(timings["bare loop"])
    print(f"{args.model}, batch {args.batch} × {args.size}², {args.steps} steps, device {device}, "
          f"best of {args.rounds} alternating rounds")
    print("| loop | images/s | ratio to bare |\n|---|---|---|")
    for name, ts in timings.items():
        rate = images / min(ts)
        print(f"| {name} | {rate:,.1f} | {rate / base:.3f} |")


if __name__ == "__main__":
    run_main(main)
