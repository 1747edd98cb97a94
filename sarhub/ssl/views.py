"""SAR-aware augmented views for joint-embedding self-supervision, made for a whole batch at once on the device.

A view of a tile (B×1×S×S grey in [0, 1], the pool's storage) is, in this order:
1. a random resized crop (area `scale` of the tile, aspect `ratio`), a horizontal / vertical flip and a rotation by
   a multiple of 90° — one affine sampling grid per image, one `grid_sample` for the batch (SAR has no "up": the
   look direction and ground orientation vary, so 90° rotations are label-preserving here, unlike in photos);
2. optional mild multiplicative speckle (probability `noise_p`): amplitude × sqrt(intensity speckle of
   `noise_looks` looks; log-normal with the L-look mean 1 and variance 1/L), the noise SAR images already carry;
3. Reinhard–Devlin DRAE on the tiles flagged `rd` (16-bit / linear amplitude), t drawn per image from `rd_range`;
   8-bit display products as stored;
4. a brightness jitter x^γ, log γ uniform in log `gamma_range` (the storage-format drift the paper's Table 2 tests);
5. per-image standardisation (zero mean, unit variance): the input contract every downstream task also follows.

No colour operations: the input is one grey channel. `eval_view` is the deterministic counterpart (resize, DRAE at
its test value, standardisation) for monitors and for users of the pre-trained backbone.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from sarhub.drae import PAPER_DRAE, reinhard_devlin
from sarhub.preprocess import standardise_per_image

_TSX = PAPER_DRAE["TSX"]


@dataclass(frozen=True)
class ViewConfig:
    size: int = 112
    scale: tuple[float, float] = (0.25, 1.0)  # fraction of the tile's area
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    rd_range: tuple[float, float] = _TSX.train_range  # the paper's TSX Reinhard–Devlin t
    rd_test: float = _TSX.test_value
    gamma_range: tuple[float, float] = (0.8, 1.25)
    noise_p: float = 0.5
    noise_looks: float = 8.0


def _uniform(n: int, lo: float, hi: float, generator: torch.Generator | None) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=generator)


def crop_grids(n: int, cfg: ViewConfig, generator: torch.Generator | None = None) -> torch.Tensor:
    """n affine matrices (n×2×3, normalised coordinates) of random crops with flips and 90° rotations."""
    area = _uniform(n, *cfg.scale, generator)
    log_ratio = _uniform(n, math.log(cfg.ratio[0]), math.log(cfg.ratio[1]), generator)
    w = (area * log_ratio.exp()).sqrt().clamp(max=1.0)  # half-extents in units of the tile's half side
    h = (area / log_ratio.exp()).sqrt().clamp(max=1.0)
    cx = (2 * torch.rand(n, generator=generator) - 1) * (1 - w)
    cy = (2 * torch.rand(n, generator=generator) - 1) * (1 - h)
    flip = torch.where(torch.rand(n, 2, generator=generator) < 0.5, -1.0, 1.0)
    quarter = torch.randint(4, (n,), generator=generator).float() * (math.pi / 2)
    cos, sin = quarter.cos().round(), quarter.sin().round()
    rotation = torch.stack([torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], -2)  # n×2×2
    linear = torch.diag_embed(torch.stack([w, h], -1)) @ rotation @ torch.diag_embed(flip)
    return torch.cat([linear, torch.stack([cx, cy], -1)[..., None]], dim=-1)


def speckle(x: torch.Tensor, looks: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Amplitude × sqrt(log-normal intensity speckle with mean 1 and variance 1/looks)."""
    sigma = math.sqrt(math.log1p(1.0 / looks))
    noise = torch.randn(x.shape, generator=generator).to(x.device)
    return x * torch.exp(0.5 * (sigma * noise - 0.5 * sigma**2))


def random_views(tiles: torch.Tensor, rd: torch.Tensor, cfg: ViewConfig,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """One augmented, standardised B×1×size×size view per tile (see the module docstring); `rd` B bool."""
    b = tiles.shape[0]
    x = tiles.float()
    grid = F.affine_grid(crop_grids(b, cfg, generator).to(x.device), [b, 1, cfg.size, cfg.size], align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    noisy = (torch.rand(b, generator=generator) < cfg.noise_p).to(x.device)
    if noisy.any():
        x = torch.where(noisy[:, None, None, None], speckle(x, cfg.noise_looks, generator).clamp_(0, 1), x)
    t = _uniform(b, *cfg.rd_range, generator).to(x.device)
    rd = rd.to(x.device)
    if rd.any():
        x = torch.where(rd[:, None, None, None], reinhard_devlin(x, t), x)
    gamma = _uniform(b, math.log(cfg.gamma_range[0]), math.log(cfg.gamma_range[1]), generator).exp().to(x.device)
    x = x.clamp_min(0) ** gamma[:, None, None, None]
    return standardise_per_image(x)


def eval_view(images: torch.Tensor, rd: torch.Tensor | bool, cfg: ViewConfig) -> torch.Tensor:
    """The deterministic input of the contract: resize to `size`, DRAE at `rd_test` where flagged, standardise."""
    x = images.float()
    if x.shape[-2:] != (cfg.size, cfg.size):
        x = F.interpolate(x, size=(cfg.size, cfg.size), mode="bilinear", align_corners=False, antialias=True)
    rd = torch.as_tensor(rd, device=x.device).expand(x.shape[0])
    if rd.any():
        x = torch.where(rd[:, None, None, None], reinhard_devlin(x, cfg.rd_test), x)
    return standardise_per_image(x)
