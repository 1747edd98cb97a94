"""The knowledge-point (KP) explainer (paper §3.3, Eq. 10): how much of the input a frozen model really relies on.

A small U-Net g(x) predicts log σ for every unit of an N×N grid over the input (default 16×16 cells of 8×8 pixels at
128 px). The input is perturbed, x' = x + σ·ε with ε ~ N(0, 1) (σ upsampled to the cell's pixels; reparameterised),
and g is trained so that the frozen model's feature barely changes while the noise is as large as possible:

    L = mean‖f(x) − f(x')‖² / Var[f(x)]  −  λ · mean_i (log σ_i + C),   C = ½·log(2πe)

The first term is the mean squared feature change over all feature elements of the batch, divided by the variance
of f(x) over those elements; the second is the mean Gaussian entropy H_i = log σ_i + C of the noise units. Units the
model needs keep a small σ (low entropy); a unit is a knowledge point when H_i < H̄ − b, H̄ the mean entropy over
clutter units. One g is trained for a batch of images at once (on the GPU when present).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sarhub.backbones import FeatureBackbone

ENTROPY_C = 0.5 * math.log(2 * math.pi * math.e)
B_VALUES = (0.25, 0.3, 0.4, 0.5)


def feature_extractor(model: nn.Module, layer: str | None = None) -> Callable[[torch.Tensor], torch.Tensor]:
    """f(x): a FeatureBackbone's last stage, or the output of the named module of a classifier (forward hook).

    Default for classifiers: the last feature map before pooling (timm's forward_features), as the authors used
    ResNet-50's layer4.
    """
    if isinstance(model, FeatureBackbone):
        return lambda x: model(x)[-1]
    if layer is None:
        return model.forward_features
    module = dict(model.named_modules())[layer]

    def extract(x: torch.Tensor) -> torch.Tensor:
        box = []
        handle = module.register_forward_hook(lambda _m, _i, out: box.append(out))
        try:
            model(x)
        finally:
            handle.remove()
        return box[0]
    return extract


class _Block(nn.Sequential):
    def __init__(self, cin: int, cout: int):
        super().__init__(nn.Conv2d(cin, cout, 3, padding=1), nn.GroupNorm(min(8, cout), cout), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, padding=1), nn.GroupNorm(min(8, cout), cout), nn.ReLU(inplace=True))


class SigmaUNet(nn.Module):
    """A small U-Net whose output is pooled to the unit grid: log σ per unit (B×grid×grid)."""

    def __init__(self, in_chans: int = 1, width: int = 16, levels: int = 3, grid: int = 16, init_log_sigma: float = -3.0):
        super().__init__()
        chans = [width * 2**i for i in range(levels)]
        self.down = nn.ModuleList([_Block(in_chans if i == 0 else chans[i - 1], c) for i, c in enumerate(chans)])
        self.up = nn.ModuleList([_Block(chans[i] + chans[i - 1], chans[i - 1]) for i in range(levels - 1, 0, -1)])
        self.head = nn.Conv2d(chans[0], 1, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.constant_(self.head.bias, init_log_sigma)
        self.grid = grid

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        for block, skip in zip(self.up, reversed(skips[:-1])):
            x = block(torch.cat([F.interpolate(x, size=skip.shape[-2:], mode="nearest"), skip], dim=1))
        return F.adaptive_avg_pool2d(self.head(x), self.grid)[:, 0]


def kp_loss(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, log_sigma: torch.Tensor, lam: float,
            noise: torch.Tensor | None = None, samples: int = 1, feature: torch.Tensor | None = None):
    """Eq. (10) for a batch: returns (total, feature term, entropy term). `noise` fixes ε (for tests)."""
    clean = f(x) if feature is None else feature
    sigma = F.interpolate(log_sigma.exp()[:, None], size=x.shape[-2:], mode="nearest")
    change = 0.0
    for s in range(samples):
        eps = torch.randn_like(x) if noise is None else noise
        change = change + ((f(x + sigma * eps) - clean) ** 2).mean()
    feature_term = change / samples / clean.var().clamp_min(1e-12)
    entropy_term = (log_sigma + ENTROPY_C).mean()
    return feature_term - lam * entropy_term, feature_term, entropy_term


@dataclass
class ExplainerResult:
    log_sigma: torch.Tensor  # B×grid×grid
    history: list[dict[str, float]]  # per step: total, feature, entropy (Figure 8)

    @property
    def entropy(self) -> torch.Tensor:
        return self.log_sigma + ENTROPY_C


def explain(model: nn.Module, images: torch.Tensor, grid: int = 16, lam: float = 0.25, steps: int = 500,
            lr: float = 5e-5, weight_decay: float = 0.05, samples: int = 1, layer: str | None = None,
            width: int = 16, seed: int = 0, progress: bool = False, schedule: str = "constant",
            amp: bool = False, init_log_sigma: float = -3.0) -> ExplainerResult:
    """Train one σ-U-Net for a batch of images against the frozen `model`; returns log σ per unit and the curves.

    `schedule="cosine"` anneals lr to zero over the steps (a higher peak lr then converges in fewer steps);
    `amp` runs the frozen model and the U-Net under bf16 autocast (CUDA, or a CPU with bf16 instructions); the
    loss and log σ stay float32. `init_log_sigma` is where every unit's log σ starts (Adam moves it by about lr per
    step, so a start nearer the converged noise level saves steps).
    """
    from tqdm import tqdm

    if schedule not in ("constant", "cosine"):
        raise ValueError(f"schedule must be constant or cosine, got {schedule!r}")
    torch.manual_seed(seed)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    device = images.device
    f = feature_extractor(model, layer)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp)
    f_amp = lambda x: f(x).float()  # noqa: E731  (the feature term is summed in float32)
    with torch.no_grad(), autocast:
        clean = f_amp(images)
    g = SigmaUNet(images.shape[1], width, grid=grid, init_log_sigma=init_log_sigma).to(device)
    opt = torch.optim.AdamW(g.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps) if schedule == "cosine" else None
    history = []
    for _ in tqdm(range(steps), desc="KP explainer", disable=not progress, leave=False):
        with autocast:
            log_sigma = g(images).float()
            total, feat, ent = kp_loss(f_amp, images, log_sigma, lam, samples=samples, feature=clean)
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()
        if sched is not None:
            sched.step()
        history.append({"total": total.item(), "feature": feat.item(), "entropy": ent.item()})
    with torch.no_grad(), autocast:
        log_sigma = g(images).float()
    return ExplainerResult(log_sigma.cpu(), history)


def count_kps(entropy: torch.Tensor, regions: dict[str, torch.Tensor], bs: Sequence[float] = B_VALUES,
              clutter: str = "clutter") -> dict[str, np.ndarray]:
    """KP counts per region and b, vectorised over images.

    entropy: B×g×g unit entropies; regions: name -> B×g×g bool unit masks (must include `clutter`). A unit is a KP
    when H_i < H̄ − b, H̄ the image's mean clutter entropy. Returns name -> array B×len(bs) of counts.
    """
    mask = regions[clutter].float()
    baseline = (entropy * mask).sum(dim=(1, 2)) / mask.sum(dim=(1, 2)).clamp_min(1)
    thresholds = baseline[:, None] - torch.tensor(bs, dtype=entropy.dtype)[None]  # B×nb
    is_kp = entropy[:, None] < thresholds[:, :, None, None]  # B×nb×g×g
    return {name: (is_kp & m[:, None]).sum(dim=(2, 3)).numpy() for name, m in regions.items()}


def trend_slope(bs: Sequence[float], counts: Sequence[float]) -> float:
    """Slope k of the least-squares line of KP counts against b (Figure 10: flatter = more compact knowledge)."""
    return float(np.polyfit(np.asarray(bs, float), np.asarray(counts, float), 1)[0])
