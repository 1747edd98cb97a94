"""Figure 2 on real SAR: per-image mean histograms of five real storage formats before and after DRAE.

    python storage_drift.py --shared ../../shared/data --max-images 500

Each set is mapped to [0, 1] the way its storage format is usually read (TSX SLC amplitude / 65535; MSTAR,
OpenSARShip Patch_Uint8 and SSDD 8-bit / 255; BigEarthNet-S1 dB per-patch min–max), then enhanced with the DRAE its
format calls for at the paper's test value: Reinhard–Devlin t = 4 for the 16-bit-like TSX amplitude, PTLS (v = 1
for the dB floats as for BEN, v = 1.5 for 8-bit sets as for OSU). Prints the mean ± std of the per-image means and
the between-dataset gap, and writes the two-panel histogram PNG and a CSV of every image's two means.
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sarhub.cli import run_main
from sarhub.data.imageio import read_raster
from sarhub.data.scene import BigEarthNetS1
from sarhub.data.targets import MSTARDataset, scan_opensarship
from sarhub.data.tsx_slc import TSXSLCDataset
from sarhub.drae import PAPER_DRAE, image_means

HERE = Path(__file__).resolve().parent


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


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shared", default=str(HERE.parents[1] / "shared" / "data"), help="the real SAR data folder")
    p.add_argument("--max-images", type=int, default=500, help="per dataset, seeded")
    p.add_argument("--output", default=str(HERE / "figures"))
    args = p.parse_args(argv)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    sets = real_sets(Path(args.shared), args.max_images)
    before = {n: image_means(images, "none", 0.0).numpy() for n, (images, _, _) in sets.items()}
    after = {n: image_means(images, method, value).numpy() for n, (images, method, value) in sets.items()}
    print("| dataset | images | DRAE | per-image mean before | after |")
    print("|---|---|---|---|---|")
    for name, (images, method, value) in sets.items():
        print(f"| {name} | {len(images)} | {method} {value:g} | {before[name].mean():.3f} ± {before[name].std():.3f}"
              f" | {after[name].mean():.3f} ± {after[name].std():.3f} |")
    gap = lambda d: max(v.mean() for v in d.values()) - min(v.mean() for v in d.values())  # noqa: E731
    print(f"between-dataset gap of mean image value: {gap(before):.3f} before DRAE, {gap(after):.3f} after")
    with open(out / "storage_drift_means.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["dataset", "mean_before", "mean_after"])
        for name in sets:
            writer.writerows([name, f"{b:.5f}", f"{a:.5f}"] for b, a in zip(before[name], after[name]))

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=False)
    for ax, values, title in ((axes[0], before, "before DRAE (storage scale → [0, 1])"), (axes[1], after, "after DRAE")):
        for name, v in values.items():
            ax.hist(v, bins=50, range=(0, 1), alpha=0.5, density=True, label=name)
        ax.set_title(title)
        ax.set_xlabel("per-image mean value")
    axes[0].set_ylabel("density")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "fig2_real_storage_drift.png", dpi=120)
    print(f"saved {out / 'fig2_real_storage_drift.png'}")


if __name__ == "__main__":
    run_main(main)
