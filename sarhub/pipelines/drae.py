"""DRAE's figures (paper Eq. 1–2, Figure 2): calibrating the parameter ranges on the three storage formats, and
the per-image mean histograms of real storage formats before and after DRAE."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Subset

from sarhub.classification import build_transform
from sarhub.config import IMG_SIZE, option
from sarhub.data.imageio import read_raster
from sarhub.data.scene import BigEarthNetS1
from sarhub.data.scene_sets import SceneData
from sarhub.data.shared import shared_data_root
from sarhub.data.targets import MSTARDataset, scan_opensarship
from sarhub.data.tsx_slc import TSXSLCDataset
from sarhub.drae import PAPER_DRAE, calibrate, image_means
from sarhub.errors import ConfigError, DataError

GRIDS = {"rd": [round(v, 2) for v in np.arange(1.0, 8.01, 0.25)], "ptls": [round(v, 2) for v in np.arange(0, 5.01, 0.25)]}


def gap(means: dict[str, np.ndarray]) -> float:
    """Between-dataset gap of the mean image value."""
    return max(v.mean() for v in means.values()) - min(v.mean() for v in means.values())


def histograms(panels: list[tuple[dict[str, np.ndarray], str]], path: Path, bins: int, ylabel: str,
               figsize: tuple[float, float], sharey: bool) -> None:
    """One panel per (values by dataset, title): overlaid histograms of per-image means on [0, 1]."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=figsize, sharey=sharey)
    for ax, (values, title) in zip(axes, panels):
        for name, v in values.items():
            ax.hist(v, bins=bins, range=(0, 1), alpha=0.55 if sharey else 0.5, density=not sharey, label=name)
        ax.set_title(title)
        ax.set_xlabel("mean image value" if sharey else "per-image mean value")
    axes[0].set_ylabel(ylabel)
    axes[-1].legend(**({} if sharey else {"fontsize": 7}))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"saved {path}")


@dataclass
class CalibrationConfig:
    """Calibrate DRAE's parameter ranges on the three storage formats (paper Eq. 1–2)."""

    tsx: str | None = option(None, "TSX root (default: simulated)")
    ben: str | None = option(None, "BEN root (default: simulated)")
    osu: str | None = option(None, "OSU root (default: simulated)")
    max_images: int = option(300, "images per dataset, seeded", bounds=(1, None))
    img_size: int = option(IMG_SIZE, "images are resized to this side", bounds=(16, 4096))
    lam: float = option(0.1, "λ: admissible relative distance to the reference brightness", positive=True)
    reference: str = option("test", "target brightness: test (mean over datasets after DRR at the test values), "
                                    "pooled (mean over datasets before DRR), or a number")
    output: str = option("runs/drae_calibration", "folder of the histogram figure")

    def __post_init__(self) -> None:
        if self.reference not in ("test", "pooled"):
            try:
                float(self.reference)
            except ValueError:
                raise ConfigError("reference", f"{self.reference!r}: test, pooled or a number") from None


def scene_batches(name: str, root: str | None, max_images: int, img_size: int, out: Path) -> list[torch.Tensor]:
    ds = SceneData(dataset=name, root=root).open_split("train", build_transform(img_size, train=False), out, 0)
    idx = torch.randperm(len(ds), generator=torch.Generator().manual_seed(0))[:max_images].tolist()
    return [b["image"][:, :1] for b in DataLoader(Subset(ds, idx), batch_size=64)]


def calibration(args: CalibrationConfig) -> dict:
    """Per dataset, the grid values of its method's parameter keeping its mean image value within ±λ of the shared
    reference; prints them beside the paper's, and the between-dataset gaps; writes the histogram figure."""
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    data = {n: (scene_batches(n, getattr(args, n.lower()), args.max_images, args.img_size, out),
                PAPER_DRAE[n].method)
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
    print(f"between-dataset gap of mean image value: {gap(before):.3f} without DRAE, {gap(after):.3f} with DRAE")
    histograms([(before, "before DRAE (per-image 0–1)"), (after, "after DRAE")], out / "drae_mean_histograms.png",
               40, "images", (10, 3.6), True)
    return result


@dataclass
class DriftConfig:
    """Figure 2 on real SAR: per-image mean values of five real storage formats before and after DRAE."""

    shared: str | None = option(None, "the real SAR data folder (default: $SARHUB_SHARED_DATA or ../shared/data)")
    max_images: int = option(500, "per dataset, seeded", bounds=(1, None))
    output: str = option("figures", "folder of the figure and the CSV")


def sample(paths: list, max_images: int) -> list:
    pick = torch.randperm(len(paths), generator=torch.Generator().manual_seed(0))[:max_images].tolist()
    return [paths[i] for i in sorted(pick)]


def eight_bit(paths: list[Path]) -> list[torch.Tensor]:
    """Grey 8-bit images / 255 as 1×1×H×W tensors (first channel of RGB-stored grey images)."""
    out = []
    for path in paths:
        array = read_raster(path)
        array = array[..., 0] if array.ndim == 3 else array
        out.append(torch.from_numpy(array.astype(np.float32) / 255.0)[None, None])
    return out


def real_sets(shared: Path, max_images: int) -> dict[str, tuple[list[torch.Tensor], str, float]]:
    """name -> (images in [0, 1], DRAE method, test value) for every real set present under `shared`."""
    sets = {}
    if (shared / "tsx_slc").is_dir():
        ds = TSXSLCDataset(shared / "tsx_slc", "train")
        sets["TSX SLC (amplitude/65535)"] = ([ds.images[i][None] for i in sample(range(len(ds)), max_images)],
                                             "rd", PAPER_DRAE["TSX"].test_value)
    osu = PAPER_DRAE["OSU"].test_value
    if (shared / "mstar_soc").is_dir():
        ds = MSTARDataset(shared / "mstar_soc", "train", crop=128)
        sets["MSTAR SOC (8-bit JPEG)"] = (eight_bit(sample([ds.root / r for r, _ in ds.items], max_images)),
                                          "ptls", osu)
    if (shared / "opensarship").is_dir():
        root = shared / "opensarship"
        chips = [root / rel for rel, _, _ in scan_opensarship(root, "uint8")]
        sets["OpenSARShip (Patch_Uint8)"] = (eight_bit(sample(chips, max_images)), "ptls", osu)
    if (shared / "ssdd").is_dir():
        sets["SSDD (8-bit JPEG)"] = (eight_bit(sample(sorted((shared / "ssdd" / "JPEGImages").glob("*.jpg")),
                                                      max_images)), "ptls", osu)
    if (shared / "bigearthnet_s1").is_dir():
        root = next(p.parent.parent for p in (shared / "bigearthnet_s1").rglob("*_labels_metadata.json"))
        ds = BigEarthNetS1(root, bands=("VV",))
        sets["BigEarthNet-S1 (dB, min–max)"] = ([ds[i]["image"][None] for i in range(len(ds))], "ptls",
                                                 PAPER_DRAE["BEN"].test_value)
    return sets


def storage_drift(args: DriftConfig) -> None:
    """The mean ± std of the per-image means per real set before/after its DRAE, the between-dataset gap, a CSV of
    every image's two means and the two-panel histogram."""
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    shared = Path(args.shared) if args.shared else shared_data_root()
    sets = real_sets(shared, args.max_images) if shared is not None else {}
    if not sets:
        raise DataError(shared, "none of tsx_slc/, mstar_soc/, opensarship/, ssdd/, bigearthnet_s1/ found "
                                     "(this figure needs real data; calibrate_drae.py runs on the simulator)")
    before = {n: image_means(images, "none", 0.0).numpy() for n, (images, _, _) in sets.items()}
    after = {n: image_means(images, method, value).numpy() for n, (images, method, value) in sets.items()}
    print("| dataset | images | DRAE | per-image mean before | after |")
    print("|---|---|---|---|---|")
    for name, (images, method, value) in sets.items():
        print(f"| {name} | {len(images)} | {method} {value:g} | {before[name].mean():.3f} ± {before[name].std():.3f}"
              f" | {after[name].mean():.3f} ± {after[name].std():.3f} |")
    print(f"between-dataset gap of mean image value: {gap(before):.3f} before DRAE, {gap(after):.3f} after")
    with open(out / "storage_drift_means.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["dataset", "mean_before", "mean_after"])
        for name in sets:
            writer.writerows([name, f"{b:.5f}", f"{a:.5f}"] for b, a in zip(before[name], after[name]))
    histograms([(before, "before DRAE (storage scale → [0, 1])"), (after, "after DRAE")],
               out / "fig2_real_storage_drift.png", 50, "density", (11, 3.8), False)
