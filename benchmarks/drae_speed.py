"""DRAE throughput: batched torch (sarhub.drae) vs a per-image NumPy loop of the same equations.

    python benchmarks/drae_speed.py [--batch 128] [--size 128] [--repeats 5] [--device cpu|cuda]
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from sarhub.cli import parse_config, run_main
from sarhub.config import option
from sarhub.drae import ptls, reinhard_devlin


def rd_numpy(img: np.ndarray, t: float, l: float = 1e-4) -> np.ndarray:
    avg, x_min = img.mean(), img.min()
    m = 0.3 + 0.7 * ((1 - avg) / (1 - x_min)) ** 1.4
    return img / (img + (t * (l * img + (1 - l) * avg)) ** m)


def ptls_numpy(img: np.ndarray, v: float) -> np.ndarray:
    lo, hi = np.percentile(img, [v, 100 - v])
    return np.clip((img - lo) / max(hi - lo, 1e-12), 0, 1)


def timed(fn, repeats: int, sync=lambda: None) -> float:
    fn()
    sync()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    sync()
    return (time.perf_counter() - start) / repeats


@dataclass
class DRAESpeedConfig:
    """The benchmark's options."""

    batch: int = option(128, "images per batch", bounds=(1, None))
    size: int = option(128, "image side", bounds=(16, 4096))
    repeats: int = option(5, "timed repeats", bounds=(1, None))
    device: str = option("cpu", "cpu or cuda")


def main() -> None:
    args = parse_config(DRAESpeedConfig, None, __doc__.splitlines()[0])
    rng = np.random.default_rng(0)
    images = rng.gamma(1.0, 1.0, size=(args.batch, 1, args.size, args.size))
    images = (images / images.max(axis=(1, 2, 3), keepdims=True)).astype(np.float32)
    params_t = rng.uniform(3.5, 4.5, args.batch)
    params_v = rng.uniform(0.0, 2.0, args.batch)
    x = torch.from_numpy(images).to(args.device)
    tt, tv = torch.from_numpy(params_t).float().to(args.device), torch.from_numpy(params_v).float().to(args.device)
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    rows = []
    for name, np_fn, torch_fn, params, tparams in (
        ("Reinhard–Devlin", rd_numpy, reinhard_devlin, params_t, tt),
        ("PTLS", ptls_numpy, ptls, params_v, tv),
    ):
        base = timed(lambda: [np_fn(images[i, 0], params[i]) for i in range(args.batch)], args.repeats)
        ours = timed(lambda: torch_fn(x, tparams), args.repeats, sync)
        ref = np.stack([np_fn(images[i, 0], params[i]) for i in range(args.batch)])
        err = float(np.abs(torch_fn(x, tparams).cpu().numpy()[:, 0] - ref).max())
        rows.append((name, args.batch / base, args.batch / ours, base / ours, err))
    print(f"DRAE, batch {args.batch} × {args.size}², device {args.device}, torch threads {torch.get_num_threads()}")
    print("| method | NumPy per image (img/s) | sarhub batched (img/s) | ratio | max abs diff |")
    print("|---|---|---|---|---|")
    for name, a, b, r, e in rows:
        print(f"| {name} | {a:,.0f} | {b:,.0f} | {r:.1f}× | {e:.1e} |")


if __name__ == "__main__":
    run_main(main)
