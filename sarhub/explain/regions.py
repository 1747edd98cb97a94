"""Target, shadow and clutter regions of a SAR target chip, for counting knowledge points per region.

Deterministic method (documented, tuned on simulated chips with known masks and checked by eye on real MSTAR):
the chip is smoothed with a `smooth`×`smooth` mean filter (speckle would otherwise break every region apart);
target = smoothed pixels above the `target_pct` percentile, opened, reduced to the largest component and filled;
shadow = smoothed pixels at or below the `shadow_pct` percentile inside a central window (`central` × the chip side,
centred on the target), not on the target, reduced to the largest component and filled; clutter = the rest.
Unit masks: a grid cell belongs to the target (or shadow) if any of its pixels does; target wins over shadow.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage


def _largest(mask: np.ndarray) -> np.ndarray:
    labels, n = ndimage.label(mask)
    if n == 0:
        return mask
    sizes = ndimage.sum(mask, labels, range(1, n + 1))
    return ndimage.binary_fill_holes(labels == (1 + int(np.argmax(sizes))))


def region_masks(image: np.ndarray, target_pct: float = 97.0, shadow_pct: float = 8.0, smooth: int = 3,
                 central: float = 0.6) -> dict[str, np.ndarray]:
    """Pixel masks {"target", "shadow", "clutter"} (bool H×W) of one chip (float H×W)."""
    s = ndimage.uniform_filter(image.astype(np.float64), smooth)
    target = _largest(ndimage.binary_opening(s > np.percentile(s, target_pct), iterations=1))
    h, w = image.shape
    cy, cx = ndimage.center_of_mass(target) if target.any() else (h / 2, w / 2)
    half = central * min(h, w) / 2
    yy, xx = np.mgrid[:h, :w]
    window = (np.abs(yy - cy) <= half) & (np.abs(xx - cx) <= half)
    shadow = _largest((s <= np.percentile(s, shadow_pct)) & window & ~target) & ~target
    return {"target": target, "shadow": shadow, "clutter": ~target & ~shadow}


def unit_masks(masks: dict[str, np.ndarray], grid: int) -> dict[str, torch.Tensor]:
    """Pixel masks -> grid×grid unit masks (any pixel; target wins over shadow; clutter = neither)."""
    h, w = masks["target"].shape
    if h % grid or w % grid:
        raise ValueError(f"image {h}×{w} is not divisible into a {grid}×{grid} grid")

    def cells(m: np.ndarray) -> np.ndarray:
        return m.reshape(grid, h // grid, grid, w // grid).any(axis=(1, 3))

    target = cells(masks["target"])
    shadow = cells(masks["shadow"]) & ~target
    return {"target": torch.from_numpy(target), "shadow": torch.from_numpy(shadow),
            "clutter": torch.from_numpy(~target & ~shadow)}


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = (a | b).sum()
    return float((a & b).sum() / union) if union else 1.0
