"""Calibrate DRAE's parameter ranges (paper Eq. 1–2) and plot the image-mean histograms before/after (Figure 2).

    python calibrate_drae.py                                   # the three simulated storage formats
    python calibrate_drae.py --tsx /data/TSX --ben /data/BEN --osu /data/OSU --max-images 2000

For each dataset the grid of its method's parameter (Reinhard–Devlin t for TSX, PTLS v for BEN/OSU) is searched for
the values keeping the dataset's mean image value within ±λ (λ = 0.1) of the shared reference brightness; it
prints the admissible ranges beside the paper's, and the between-dataset gap of mean values without and with DRAE.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Subset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sarhub.classification import build_transform
from sarhub.cli import run_main
from sarhub.data.scene import open_scene_split
from sarhub.drae import PAPER_DRAE, calibrate, image_means

GRIDS = {"rd": [round(v, 2) for v in np.arange(1.0, 8.01, 0.25)], "ptls": [round(v, 2) for v in np.arange(0, 5.01, 0.25)]}


def batches(name: str, root: str | None, max_images: int, img_size: int) -> list[torch.Tensor]:
    ds = open_scene_split(name, root, "train", build_transform(img_size, train=False))
    idx = torch.randperm(len(ds), generator=torch.Generator().manual_seed(0))[:max_images].tolist()
    return [b["image"][:, :1] for b in DataLoader(Subset(ds, idx), batch_size=64)]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("tsx", "ben", "osu"):
        p.add_argument(f"--{name}", default=None, help=f"{name.upper()} root (default: simulated)")
    p.add_argument("--max-images", type=int, default=300)
    p.add_argument("--img-size", type=int, default=128)
    p.add_argument("--lam", type=float, default=0.1)
    p.add_argument("--reference", default="test",
                   help="target brightness: 'test' (mean over datasets after DRR at the test values), 'pooled' "
                        "(mean over datasets before DRR), or a number")
    p.add_argument("--output", default="runs/drae_calibration")
    args = p.parse_args(argv)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    data = {n: (batches(n, getattr(args, n.lower()), args.max_images, args.img_size), PAPER_DRAE[n].method)
            for n in ("TSX", "BEN", "OSU")}
    if args.reference == "test":
        reference = None
    elif args.reference == "pooled":
        reference = float(np.mean([image_means(b, "none", 0.0).mean() for b, _ in data.values()]))
    else:
        reference = float(args.reference)
    result = calibrate(data, GRIDS, {n: PAPER_DRAE[n].test_value for n in data}, args.lam, reference)

    print(f"reference brightness {next(iter(result.values()))['reference']:.3f}, λ = {args.lam}")
    print("| dataset | method | mean before | mean after (test value) | admissible range | paper range |")
    print("|---|---|---|---|---|---|")
    before, after = {}, {}
    for name, r in result.items():
        cfg = PAPER_DRAE[name]
        before[name] = image_means(data[name][0], "none", 0.0).numpy()
        after[name] = image_means(data[name][0], cfg.method, cfg.test_value).numpy()
        rng = "none" if r["range"] is None else f"[{r['range'][0]:g}, {r['range'][1]:g}]"
        print(f"| {name} | {cfg.method} | {before[name].mean():.3f} | {after[name].mean():.3f} | {rng} | "
              f"[{cfg.train_range[0]:g}, {cfg.train_range[1]:g}] |")
    gap = lambda d: max(v.mean() for v in d.values()) - min(v.mean() for v in d.values())  # noqa: E731
    print(f"between-dataset gap of mean image value: {gap(before):.3f} without DRAE, {gap(after):.3f} with DRAE")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for ax, values, title in ((axes[0], before, "before DRAE (per-image 0–1)"), (axes[1], after, "after DRAE")):
        for name, v in values.items():
            ax.hist(v, bins=40, range=(0, 1), alpha=0.55, label=name)
        ax.set_title(title)
        ax.set_xlabel("mean image value")
    axes[0].set_ylabel("images")
    axes[1].legend()
    fig.tight_layout()
    fig.savefig(out / "drae_mean_histograms.png", dpi=120)
    print(f"saved {out / 'drae_mean_histograms.png'}")


if __name__ == "__main__":
    run_main(main)
