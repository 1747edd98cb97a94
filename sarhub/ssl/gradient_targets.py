"""Multi-scale SAR gradient features, the reconstruction targets of masked image modelling for SAR.

Speckle is multiplicative, so SAR edge detectors use ratios of local means (ROEWA-style) instead of differences:
for each scale r, gx = log(S_left / S_right) and gy = log(S_top / S_bottom), where S are sums over the two
(2r+1)×r half-windows on either side of the pixel (of the reflect-padded image + 0.01), and the feature is the
magnitude sqrt(gx² + gy²). Being a log-ratio it ignores multiplicative gain (calibration, incidence), which pixel
targets do not. Box sums come from integral images: O(1) per pixel whatever the scale, batched, no Python loops.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

DEFAULT_SCALES = (9, 13, 17)


def half_window_sums(x: torch.Tensor, r: int) -> tuple[torch.Tensor, ...]:
    """(left, right, top, bottom) sums of the (2r+1)×r half-windows around each pixel of B×1×H×W `x`.

    From one integral image (float64) of the reflect-padded input: four look-ups per box, whatever r is.
    """
    h, w = x.shape[-2:]
    padded = F.pad(x, (r, r, r, r), mode="reflect").double()
    integral = F.pad(padded.cumsum(-1).cumsum(-2), (1, 0, 1, 0))

    def box(y0: int, y1: int, x0: int, x1: int) -> torch.Tensor:
        return (integral[..., y1:y1 + h, x1:x1 + w] - integral[..., y0:y0 + h, x1:x1 + w]
                - integral[..., y1:y1 + h, x0:x0 + w] + integral[..., y0:y0 + h, x0:x0 + w]).float()

    full = 2 * r + 1
    return box(0, full, 0, r), box(0, full, r + 1, full), box(0, r, 0, full), box(r + 1, full, 0, full)


def gradient_features(x: torch.Tensor, scales: Sequence[int] = DEFAULT_SCALES, eps: float = 0.01) -> torch.Tensor:
    """B×1×H×W non-negative image -> B×len(scales)×H×W gradient magnitudes (one channel per scale)."""
    if x.ndim != 4 or x.shape[1] != 1:
        raise ValueError(f"expected a B×1×H×W image batch, got {tuple(x.shape)}")
    if max(scales) >= min(x.shape[-2:]):
        raise ValueError(f"scale {max(scales)} needs images larger than {max(scales)} px, got {tuple(x.shape[-2:])}")
    x = x.float().clamp_min(0) + eps
    out = []
    for r in scales:
        left, right, top, bottom = half_window_sums(x, r)
        gx = torch.log(left / right)
        gy = torch.log(top / bottom)
        out.append(torch.sqrt(gx**2 + gy**2))
    return torch.cat(out, dim=1)


def patch_targets(features: torch.Tensor, patch: int, normalise: bool = True) -> torch.Tensor:
    """B×S×H×W features -> B×N×(S·p²) per-patch targets (row-major patches, as ViT tokens), each normalised to
    zero mean and unit variance over its own values (MAE's per-patch normalisation)."""
    b, s, h, w = features.shape
    if h % patch or w % patch:
        raise ValueError(f"image size {h}×{w} is not a multiple of the patch size {patch}")
    t = features.reshape(b, s, h // patch, patch, w // patch, patch).permute(0, 2, 4, 1, 3, 5)
    t = t.reshape(b, (h // patch) * (w // patch), s * patch * patch)
    if normalise:
        t = (t - t.mean(dim=-1, keepdim=True)) / (t.var(dim=-1, keepdim=True, unbiased=False) + 1e-6).sqrt()
    return t
