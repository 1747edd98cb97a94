"""Geometric augmentation with shared parameters: one random transform per sample, applied identically to every
co-registered tensor (SAR, optical, feature maps, super-pixel and label maps), so pixel correspondence survives.

A transform is a random crop (scale of the side in [min_scale, 1], anywhere in the patch) resized to the output
size, a horizontal/vertical flip and a rotation by a multiple of 90°. It is one affine grid per sample, so all
tensors go through the same batched `grid_sample`: bilinear for images and features, nearest for integer maps.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class GeometricParams:
    theta: torch.Tensor  # B×2×3 affine matrices in normalised coordinates (output → input)
    size: tuple[int, int]


def sample_params(batch: int, size: tuple[int, int], min_scale: float = 0.6, flips: bool = True, rotate: bool = True,
                  generator: torch.Generator | None = None, device: torch.device | str = "cpu") -> GeometricParams:
    def uniform(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(batch, generator=generator)

    scale = uniform(min_scale, 1.0)
    cx, cy = uniform(-1, 1) * (1 - scale), uniform(-1, 1) * (1 - scale)
    k = torch.randint(0, 4 if rotate else 1, (batch,), generator=generator)
    angle = k.float() * (torch.pi / 2)
    cos, sin = torch.cos(angle).round(), torch.sin(angle).round()
    fx = torch.where(torch.rand(batch, generator=generator) < 0.5, -1.0, 1.0) if flips else torch.ones(batch)
    fy = torch.where(torch.rand(batch, generator=generator) < 0.5, -1.0, 1.0) if flips else torch.ones(batch)
    theta = torch.zeros(batch, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = scale * cos * fx, -scale * sin * fy
    theta[:, 1, 0], theta[:, 1, 1] = scale * sin * fx, scale * cos * fy
    theta[:, 0, 2], theta[:, 1, 2] = cx, cy
    return GeometricParams(theta.to(device), size)


def apply(x: torch.Tensor, params: GeometricParams, mode: str = "bilinear") -> torch.Tensor:
    """Transform B×C×H×W (float) or B×H×W (integer map, always nearest) with the sampled parameters."""
    is_map = x.ndim == 3
    src = x[:, None].float() if is_map else x.float()
    grid = F.affine_grid(params.theta.to(src.device, src.dtype), [x.shape[0], 1, *params.size], align_corners=False)
    out = F.grid_sample(src, grid, mode="nearest" if is_map else mode, padding_mode="border", align_corners=False)
    return out[:, 0].round().to(x.dtype) if is_map else out.to(x.dtype)


def photometric(x: torch.Tensor, strength: float = 0.1, generator: torch.Generator | None = None) -> torch.Tensor:
    """Per-sample, per-channel gain/offset jitter and Gaussian noise on standardised inputs (one modality)."""
    b, c = x.shape[:2]
    gain = 1 + strength * torch.randn(b, c, 1, 1, generator=generator).to(x)
    offset = strength * torch.randn(b, c, 1, 1, generator=generator).to(x)
    noise = strength * torch.randn(x.shape, generator=generator).to(x)
    return x * gain + offset + noise
