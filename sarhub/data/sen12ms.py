"""Co-registered Sentinel-1 / Sentinel-2 patches with land-cover labels: SEN12MS and DFC2020.

On-disk layout as distributed (one folder per ROI/season, one sub-folder per modality and scene):

    <root>/ROIs1158_spring/s1_1/ROIs1158_spring_s1_1_p30.tif     256×256×2 float32, VV and VH backscatter in dB
    <root>/ROIs1158_spring/s2_1/ROIs1158_spring_s2_1_p30.tif     256×256×13 uint16, Sentinel-2 B1..B12 (incl. B8A)
    <root>/ROIs1158_spring/lc_1/ROIs1158_spring_lc_1_p30.tif     256×256×4 uint8, IGBP / LCCS_LC / LCCS_LU / LCCS_SH
    <root>/ROIs0000_test/dfc_0/ROIs0000_test_dfc_0_p1.tif        DFC2020: 256×256 uint8 simplified classes 1..10

Any folder depth works: every `*_s1_*.tif` below `root` is a sample and its partners are found by replacing
`_s1_`/`s1_` with `_s2_`, `_lc_` or `_dfc_` in both the folder and the file name.

Normalisation (documented constants, so train and test agree without a pass over the data): S1 is clipped to
[−25, 0] dB and standardised with S1_MEAN/S1_STD; S2 keeps B2, B3, B4, B8 (blue, green, red, NIR), clipped to
[0, 10000] and standardised with S2_MEAN/S2_STD; NaN becomes 0 after standardisation (i.e. the band mean).
Labels are the DFC2020 simplified IGBP scheme: classes 1..10 → 0..9 and 0 (no data) → 255 (ignored). SEN12MS
`lc` patches hold the full 17-class IGBP code in band 1, mapped to the simplified scheme by IGBP_TO_SIMPLE.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from sarhub.data.imageio import read_raster
from sarhub.errors import DataError
from sarhub.metrics.segmentation import IGNORE_INDEX

CLASSES = ("forest", "shrubland", "savanna", "grassland", "wetland", "cropland", "urban", "snow/ice", "barren",
           "water")
S2_BANDS = ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B10", "B11", "B12")
S2_KEEP = ("B2", "B3", "B4", "B8")
# Standardisation constants: S1 dB statistics of typical land scenes after clipping; S2 reflectance (×10000)
# statistics of the four kept bands over SEN12MS-like land cover. Good enough to centre the inputs; exactness
# does not matter for the networks, consistency between train and test does.
S1_MEAN, S1_STD = np.array([-11.5, -18.5], np.float32), np.array([4.5, 4.5], np.float32)
S2_MEAN = np.array([1100.0, 1050.0, 1000.0, 2300.0], np.float32)
S2_STD = np.array([700.0, 700.0, 900.0, 1200.0], np.float32)
# IGBP code (1..17) → DFC2020 simplified class (1..10); index 0 (no data) → 0
IGBP_TO_SIMPLE = np.array([0, 1, 1, 1, 1, 1, 2, 2, 3, 3, 4, 5, 6, 7, 6, 8, 9, 10], np.uint8)


def partner_path(s1_path: Path, modality: str) -> Path:
    """The s2/lc/dfc file of an s1 patch: `s1` is replaced in the scene folder and in the file name."""
    folder = re.sub(r"^s1_", f"{modality}_", s1_path.parent.name)
    name = re.sub(r"_s1_", f"_{modality}_", s1_path.name)
    return s1_path.parent.parent / folder / name if folder != s1_path.parent.name else s1_path.parent / name


def normalise_s1(array: np.ndarray) -> np.ndarray:
    """H×W×2 dB → 2×H×W float32: clip to [−25, 0], standardise, NaN → 0."""
    x = (np.clip(array.astype(np.float32), -25.0, 0.0) - S1_MEAN) / S1_STD
    return np.nan_to_num(x, nan=0.0).transpose(2, 0, 1).copy()


def normalise_s2(array: np.ndarray) -> np.ndarray:
    """H×W×13 reflectance → 4×H×W float32 (B2, B3, B4, B8): clip to [0, 10000], standardise, NaN → 0."""
    keep = [S2_BANDS.index(b) for b in S2_KEEP]
    x = (np.clip(array[..., keep].astype(np.float32), 0.0, 10000.0) - S2_MEAN) / S2_STD
    return np.nan_to_num(x, nan=0.0).transpose(2, 0, 1).copy()


def to_labels(array: np.ndarray, kind: str, path: Path | str | None = None) -> np.ndarray:
    """lc (H×W×4 IGBP first) or dfc (H×W simplified) → int64 H×W with 0..9 and 255 = ignore.

    0 and 255 are no-data (ignored); any other code outside IGBP 1..17 (lc) or 1..10 (dfc) is a DataError: it used
    to be clipped to 17, i.e. counted as water."""
    codes = (array[..., 0] if array.ndim == 3 else array).astype(np.int64)
    top = 17 if kind == "lc" else 10
    bad = (codes != 0) & (codes != IGNORE_INDEX) & ((codes < 1) | (codes > top))
    if bad.any():
        raise DataError(path, f"land-cover code {int(codes[bad][0])} is neither 1..{top} nor no-data (0, 255) "
                              f"({int(bad.sum())} pixel(s))")
    valid = (codes >= 1) & (codes <= top)
    simple = IGBP_TO_SIMPLE[np.where(valid, codes, 0)].astype(np.int64) if kind == "lc" else np.where(valid, codes, 0)
    return np.where((simple >= 1) & (simple <= 10), simple - 1, IGNORE_INDEX)


class SEN12MSDataset(Dataset):
    """Samples {"s1": 2×H×W, "s2": 4×H×W, "mask": H×W int64, "index": i} for the requested modalities.

    modalities: any of "s1", "s2"; labels: "lc" (SEN12MS IGBP), "dfc" (DFC2020) or None (unlabelled, no "mask").
    files: restrict to these s1 paths (a split); default every `*_s1_*.tif` below root, sorted.
    """

    def __init__(self, root: str | Path, modalities: Sequence[str] = ("s1", "s2"), labels: str | None = "lc",
                 files: Sequence[str | Path] | None = None):
        self.root = Path(root)
        if not self.root.is_dir():
            raise DataError(self.root, "SEN12MS/DFC2020 root folder not found")
        unknown = set(modalities) - {"s1", "s2"}
        if unknown or not modalities:
            raise ValueError(f"modalities must be a non-empty subset of ('s1', 's2'), got {modalities}")
        if labels not in ("lc", "dfc", None):
            raise ValueError(f"labels must be 'lc', 'dfc' or None, got {labels!r}")
        self.modalities, self.labels = tuple(modalities), labels
        self.s1_files = [Path(f) for f in files] if files is not None else sorted(self.root.rglob("*_s1_*.tif"))
        if not self.s1_files:
            raise DataError(self.root, "no Sentinel-1 patches (*_s1_*.tif) found below this folder")
        wanted = (["s2"] if "s2" in self.modalities else []) + ([labels] if labels else [])
        for f in self.s1_files:
            for m in wanted:
                if not partner_path(f, m).is_file():
                    raise DataError(partner_path(f, m), f"missing {m} partner of {f.name}")

    def __len__(self) -> int:
        return len(self.s1_files)

    def read(self, index: int, modality: str) -> np.ndarray:
        s1 = self.s1_files[index]
        path = s1 if modality == "s1" else partner_path(s1, modality)
        array = read_raster(path)
        expected = {"s1": 2, "s2": 13, "lc": 4}.get(modality)
        channels = array.shape[-1] if array.ndim == 3 else 1
        if expected is not None and (array.ndim != 3 or channels != expected):
            raise DataError(path, f"expected H×W×{expected} for {modality}, got shape {array.shape}")
        return array

    def __getitem__(self, index: int) -> dict:
        sample: dict = {"index": index}
        if "s1" in self.modalities:
            sample["s1"] = torch.from_numpy(normalise_s1(self.read(index, "s1")))
        if "s2" in self.modalities:
            sample["s2"] = torch.from_numpy(normalise_s2(self.read(index, "s2")))
        if self.labels:
            path = partner_path(self.s1_files[index], self.labels)
            sample["mask"] = torch.from_numpy(to_labels(self.read(index, self.labels), self.labels, path))
        sizes = {k: tuple(v.shape[-2:]) for k, v in sample.items() if k != "index"}
        if len(set(sizes.values())) > 1:
            raise DataError(self.s1_files[index], f"its co-registered partners differ in size: {sizes}")
        return sample

    def patch_keys(self) -> list[str]:
        """One string per patch (its S1 file) naming it in caches."""
        return [str(f.resolve()) for f in self.s1_files]

    def optical_rgb(self, index: int) -> np.ndarray:
        """H×W×3 float in [0, 1] (B4, B3, B2 stretched by 0..3000 reflectance): what the super-pixels are cut on."""
        s2 = self.read(index, "s2").astype(np.float32)
        rgb = s2[..., [S2_BANDS.index("B4"), S2_BANDS.index("B3"), S2_BANDS.index("B2")]]
        return np.clip(np.nan_to_num(rgb) / 3000.0, 0.0, 1.0)


def split_files(files: Sequence, test_fraction: float, seed: int = 0) -> tuple[list, list]:
    """Seeded random split of patch files (or fragment names) into (train, test); test gets round(fraction · N),
    at least 1."""
    files = sorted(files)
    order = np.random.default_rng(seed).permutation(len(files))
    n_test = max(1, int(round(test_fraction * len(files))))
    test = {int(i) for i in order[:n_test]}
    return [f for i, f in enumerate(files) if i not in test], [f for i, f in enumerate(files) if i in test]
