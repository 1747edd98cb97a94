"""The on-device batch preprocessing of classifiers (γ test → DRAE or log transform → per-image standardisation →
mean/std), and the input options it is built from. Pure tensors: no model code, no I/O."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from sarhub.config import IMG_SIZE, group, option
from sarhub.drae import DRAE, DRAEConfig, gamma_transform


def log_transform(x: torch.Tensor, scale: float = 1000.0) -> torch.Tensor:
    """log(1 + s·x)/log(1 + s): the predecessor's log compression of 16-bit data, on [0, 1] inputs."""
    return torch.log1p(scale * x.clamp_min(0)) / math.log1p(scale)


def standardise_per_image(x: torch.Tensor) -> torch.Tensor:
    """Zero mean, unit variance per image and channel: removes the gain and offset each chip got from its own
    scaling (MSTAR JPEGs are divided by their brightest pixel, which shifts whole chips between collections)."""
    mean = x.mean(dim=(-2, -1), keepdim=True)
    std = x.std(dim=(-2, -1), keepdim=True).clamp_min(1e-6)
    return (x - mean) / std


class Preprocess(nn.Module):
    """On-device batch preprocessing: optional γ perturbation (robustness test) → DRAE or log transform →
    optional per-image standardisation → per-dataset mean/std. DRAE follows this module's train/eval mode."""

    def __init__(self, drae: DRAEConfig, mean: Sequence[float], std: Sequence[float], log_scale: float = 0.0,
                 per_image: bool = False):
        super().__init__()
        self.drae = DRAE(drae)
        self.log_scale = log_scale
        self.per_image = per_image
        self.gamma: float | None = None
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def enhance(self, x: torch.Tensor) -> torch.Tensor:
        if self.gamma is not None:
            x = gamma_transform(x, self.gamma)
        if self.log_scale:
            x = log_transform(x, self.log_scale)
        x = self.drae(x)
        return standardise_per_image(x) if self.per_image else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.enhance(x) - self.mean) / self.std


@dataclass
class InputOptions:
    """What a classifier's input is: its size, the DRAE or log compression, and per-image standardisation. The
    options of every classification run, and (with the measured mean/std) a Model-Hub input contract."""

    img_size: int = option(IMG_SIZE, "input side in pixels (images are resized to it)", bounds=(16, 4096))
    drae: DRAEConfig = group(DRAEConfig)
    log_transform: float = option(0.0, "predecessor's log(1+s·x) compression, s (0: off)", bounds=(0.0, None))
    per_image_norm: bool = option(False, "standardise every image (zero mean, unit variance) after DRAE, before "
                                         "the dataset mean/std")

    def preprocess(self, mean: Sequence[float], std: Sequence[float]) -> Preprocess:
        """The batch preprocessing of these options with a dataset's mean/std."""
        return Preprocess(self.drae, mean, std, self.log_transform, self.per_image_norm)
