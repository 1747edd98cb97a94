"""The on-device batch preprocessing of classifiers (γ test → DRAE or log transform → per-image standardisation →
mean/std), and rebuilding it from a run's saved arguments. Pure tensors: no model code, no I/O."""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import torch
from torch import nn

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


def drae_config(run: Mapping) -> DRAEConfig:
    """The DRAE setting of a run, from its arguments (a training namespace's vars or a checkpoint's saved args)."""
    method = "none" if run.get("no_drae") else run.get("drae_method", "none")
    return DRAEConfig(method, tuple(run.get("drae_range", (0.0, 0.0))), run.get("drae_test", 0.0),
                      run.get("drae_xavg"))


def model_input_size(run: Mapping) -> int:
    """Side of the images a classifier checkpoint's model saw: its random/centre window when it trained on one
    (target_recognition --random-crop), else its resize size."""
    return run.get("input_size", run.get("img_size", 128))


def preprocess_from_run(run: Mapping) -> Preprocess:
    """The test-time preprocessing a classifier checkpoint was trained with, rebuilt from its saved arguments, so
    test.py, the CAM maps and the KP explainer feed the model exactly what training fed it."""
    return Preprocess(drae_config(run), run["norm_mean"], run["norm_std"], run.get("log_transform", 0.0),
                      run.get("per_image_norm", False)).eval()
