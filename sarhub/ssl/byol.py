"""BYOL (Grill et al., 2020) for a 1-channel CNN backbone: the joint-embedding self-supervision of the SAR pool.

Why BYOL here, for a ResNet-18 on a few thousand SAR tiles and a two-core CPU budget:
- no negatives: contrastive methods (SimCLR, MoCo) need large batches or queues to see enough negatives, and on a
  small pool of look-alike speckle textures many "negatives" are the same land cover; BYOL trains with batch 64–128;
- the EMA teacher makes collapse unlikely without a variance/covariance term (VICReg) whose estimate is noisy at
  small batch sizes, and without SimSiam's sensitivity to the predictor's learning rate; its cost, one no-grad
  forward of the teacher (about a quarter of a training step), is the price of that stability;
- the online encoder is a plain timm ResNet (`sarhub.create_model`, 1 input channel, pooled features), so its
  weights load by name into classifiers, FCOS and DeepLabV3 without renaming.

Online: encoder → projector (MLP) → predictor (MLP); target: EMA copies of encoder and projector, no gradient.
Loss: 2 − 2·cos(prediction of view a, target projection of view b), symmetrised over the two views. The target is
updated after every optimiser step with a momentum rising from `base` to 1 on a cosine (`ema_momentum`).
"""
from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn

from sarhub.backbones import create_model


def mlp(in_dim: int, hidden_dim: int, out_dim: int) -> nn.Sequential:
    """BYOL's projector / predictor: Linear → BatchNorm → ReLU → Linear."""
    return nn.Sequential(nn.Linear(in_dim, hidden_dim), nn.BatchNorm1d(hidden_dim), nn.ReLU(inplace=True),
                         nn.Linear(hidden_dim, out_dim))


def ema_momentum(step: int, total: int, base: float) -> float:
    """τ = 1 − (1 − base)·(cos(π·step/total) + 1)/2: `base` at the start, 1 at the end."""
    return 1.0 - (1.0 - base) * (math.cos(math.pi * min(step, total) / max(total, 1)) + 1.0) / 2.0


def regression_loss(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean of 2 − 2·cos over the batch (in float32)."""
    return (2 - 2 * F.cosine_similarity(prediction.float(), target.float(), dim=-1)).mean()


class BYOL(nn.Module):
    """Online encoder/projector/predictor and their EMA target; `forward(view_a, view_b)` returns the loss."""

    def __init__(self, arch: str = "resnet18", in_chans: int = 1, hidden_dim: int = 2048, proj_dim: int = 256):
        super().__init__()
        self.encoder = create_model(arch, num_classes=0, in_chans=in_chans)
        dim = self.encoder.num_features
        self.projector = mlp(dim, hidden_dim, proj_dim)
        self.predictor = mlp(proj_dim, hidden_dim, proj_dim)
        self.target_encoder = copy.deepcopy(self.encoder)
        self.target_projector = copy.deepcopy(self.projector)
        for param in [*self.target_encoder.parameters(), *self.target_projector.parameters()]:
            param.requires_grad_(False)

    def forward(self, view_a: torch.Tensor, view_b: torch.Tensor) -> torch.Tensor:
        both = torch.cat([view_a, view_b])  # one pass per network: larger GEMMs, half the per-layer overhead on CPU
        pred_a, pred_b = self.predictor(self.projector(self.encoder(both))).chunk(2)
        with torch.no_grad():
            target_a, target_b = self.target_projector(self.target_encoder(both)).chunk(2)
        return regression_loss(pred_a, target_b) + regression_loss(pred_b, target_a)

    @torch.no_grad()
    def update_target(self, momentum: float) -> None:
        """target ← momentum·target + (1 − momentum)·online; BatchNorm running statistics are copied the same way."""
        for online, target in ((self.encoder, self.target_encoder), (self.projector, self.target_projector)):
            for p_online, p_target in zip(online.parameters(), target.parameters()):
                p_target.lerp_(p_online.detach(), 1.0 - momentum)
            for b_online, b_target in zip(online.buffers(), target.buffers()):
                if b_target.is_floating_point():
                    b_target.lerp_(b_online, 1.0 - momentum)
                else:
                    b_target.copy_(b_online)

    @torch.no_grad()
    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled online-encoder features (what a downstream task gets), for monitors and probes."""
        return self.encoder(x)
