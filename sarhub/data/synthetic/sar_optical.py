"""Simulated co-registered Sentinel-1 / Sentinel-2 patches with land-cover maps, written in the SEN12MS layout.

A patch is a mosaic of land-cover regions (a Voronoi partition with wobbly borders). Each class has a
backscatter signature (VV, VH in dB, texture strength) and a spectral signature (B2, B3, B4, B8 reflectance). The
signatures are chosen so that neither sensor alone separates every class, as in reality:

    forest vs cropland      similar backscatter (volume scattering), different spectra (dark visible, bright NIR)
    grassland vs cropland   similar spectra (green vegetation), different backscatter (crop rows, moisture)
    urban vs barren         similar spectra (bright, flat), very different backscatter (double bounce)
    water vs barren         both dark and smooth in SAR, different spectra

S1 intensity carries 4.4-look gamma speckle (Sentinel-1 GRD ENL) and is stored in dB (float32, 2 bands); S2 gets
sensor noise, and about a third of the patches carry clouds that hide the spectra (SAR sees through them), stored
as 13-band uint16 reflectance ×10000. Labels are written as SEN12MS `lc` patches (IGBP code in band 1).
Deterministic by seed.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from sarhub.data.sen12ms import S2_BANDS
from sarhub.data.synthetic.scenes import cached_simulation
from sarhub.data.synthetic.speckle import smooth_field, speckle, textured_reflectivity, to_db

# name: (IGBP code, (VV dB, VH dB), texture contrast, (B2, B3, B4, B8) reflectance)
SIGNATURES = {
    "forest": (2, (-8.0, -14.0), 0.35, (250, 450, 300, 3000)),
    "grassland": (10, (-13.0, -21.0), 0.15, (550, 850, 700, 2600)),
    "cropland": (12, (-8.5, -14.5), 0.3, (550, 850, 700, 2600)),
    "urban": (13, (-3.0, -11.0), 0.8, (1500, 1500, 1600, 2000)),
    "barren": (16, (-19.0, -26.0), 0.1, (1600, 1650, 1700, 2100)),
    "water": (17, (-21.0, -27.0), 0.1, (500, 400, 250, 100)),
}
S1_LOOKS = 4.4


def label_map(rng: np.random.Generator, size: int, n_classes: int, n_regions: tuple[int, int] = (4, 9)) -> np.ndarray:
    """H×W class indices: nearest of a few random seeds, with borders displaced by a smooth random field."""
    k = int(rng.integers(*n_regions))
    seeds = rng.uniform(0, size, (k, 2))
    classes = rng.integers(0, n_classes, k)
    yy, xx = np.mgrid[:size, :size].astype(np.float64)
    yy = yy + 6.0 * smooth_field(rng, (size, size), size / 8)
    xx = xx + 6.0 * smooth_field(rng, (size, size), size / 8)
    dist = (yy[None] - seeds[:, 0, None, None]) ** 2 + (xx[None] - seeds[:, 1, None, None]) ** 2
    return classes[dist.argmin(axis=0)]


def simulate_pair(rng: np.random.Generator, size: int = 128, cloud_probability: float = 0.35):
    """One patch: (S1 H×W×2 float32 dB, S2 H×W×13 uint16, IGBP code map H×W uint8)."""
    names = list(SIGNATURES)
    labels = label_map(rng, size, len(names))
    s1 = np.zeros((size, size, 2), np.float32)
    s2 = np.zeros((size, size, 4), np.float64)
    igbp = np.zeros((size, size), np.uint8)
    for c, name in enumerate(names):
        code, (vv, vh), contrast, spectrum = SIGNATURES[name]
        where = labels == c
        if not where.any():
            continue
        igbp[where] = code
        for band, level in enumerate((vv, vh)):
            texture = textured_reflectivity(rng, (size, size), 10 ** (level / 10), contrast, 3.0)
            s1[..., band][where] = to_db(speckle(rng, texture, S1_LOOKS))[where]
        variation = 1.0 + 0.08 * smooth_field(rng, (size, size), 6.0)
        for band, level in enumerate(spectrum):
            s2[..., band][where] = (level * variation)[where]
    s2 += rng.normal(0.0, 60.0, s2.shape)
    if rng.random() < cloud_probability:  # thick cloud: bright, flat, hides the spectra below
        cover = np.clip(1.5 * smooth_field(rng, (size, size), size / 6) + rng.uniform(-0.5, 1.0), 0.0, 1.0)
        s2 = (1 - cover[..., None]) * s2 + cover[..., None] * 6000.0
    full = np.empty((size, size, len(S2_BANDS)), np.float64)
    b2, b3, b4, b8 = (s2[..., i] for i in range(4))
    fill = {"B1": b2, "B2": b2, "B3": b3, "B4": b4, "B5": 0.5 * (b4 + b8), "B6": b8, "B7": b8, "B8": b8,
            "B8A": b8, "B9": 0.3 * b8, "B10": 0.05 * b2, "B11": 0.6 * b8, "B12": 0.4 * b8}
    for i, band in enumerate(S2_BANDS):
        full[..., i] = fill[band]
    return s1, np.clip(full, 0, 10000).astype(np.uint16), igbp


def write_sen12ms(root: str | Path, n_patches: int = 96, size: int = 128, seed: int = 0,
                  roi: str = "ROIs1158_spring", scene: int = 1) -> Path:
    """Write `n_patches` simulated patches as <root>/<roi>/{s1,s2,lc}_<scene>/<roi>_{s1,s2,lc}_<scene>_p<i>.tif."""
    import tifffile

    root = Path(root)
    rng = np.random.default_rng(seed)
    for modality in ("s1", "s2", "lc"):
        (root / roi / f"{modality}_{scene}").mkdir(parents=True, exist_ok=True)
    for i in range(n_patches):
        s1, s2, igbp = simulate_pair(rng, size)
        lc = np.stack([igbp, igbp, np.zeros_like(igbp), np.zeros_like(igbp)], axis=-1)
        for modality, array in (("s1", s1), ("s2", s2), ("lc", lc)):
            tifffile.imwrite(root / roi / f"{modality}_{scene}" / f"{roi}_{modality}_{scene}_p{i}.tif", array)
    return root


def simulated_sen12ms_root(n_patches: int = 96, size: int = 128, seed: int = 0) -> Path:
    """The embedded default for `sar_optical/`: written once under the cache folder, keyed by its parameters."""
    params = {"n_patches": n_patches, "size": size, "seed": seed, "version": 1}
    return cached_simulation("sen12ms", params, lambda root: write_sen12ms(root, n_patches, size, seed))


def write_pairs(root: str | Path, n_fragments: int = 4, size: int = 64, seed: int = 0) -> Path:
    """Write simulated fragments in the real paired-folder layout (`sarhub.data.s1s2_pairs`): sar/NNN.png 8-bit VH
    (−30..0 dB), opt/NNN.jpg 8-bit true colour (B4, B3, B2 over 0..3000 reflectance) and metadata.json."""
    import json

    from PIL import Image

    root = Path(root)
    (root / "sar").mkdir(parents=True, exist_ok=True)
    (root / "opt").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    entries = []
    for i in range(n_fragments):
        s1, s2, _ = simulate_pair(rng, size)
        vh = np.clip((s1[..., 1] + 30.0) / 30.0 * 255.0, 0, 255).astype(np.uint8)
        rgb = s2[..., [S2_BANDS.index("B4"), S2_BANDS.index("B3"), S2_BANDS.index("B2")]].astype(np.float32)
        name = f"{i:03d}"
        Image.fromarray(vh).save(root / "sar" / f"{name}.png")
        Image.fromarray(np.clip(rgb / 3000.0 * 255.0, 0, 255).astype(np.uint8)).save(root / "opt" / f"{name}.jpg",
                                                                                     quality=92)
        entries.append({"fragment_filename": f"{name}.png", "corners_EPSG:3395": [[i * size * 10.0, 0.0]]})
    (root / "metadata.json").write_text(json.dumps(entries, indent=1))
    return root
