"""ResUNets for SAR–optical fusion under the three strategies, plus single-sensor baselines.

    early         one ResUNet on the stacked channels (SEN12MS: S1 VV/VH + S2 B2/B3/B4/B8; real pairs: VH + RGB)
    intermediate  a SAR encoder and an optical encoder fused (concat + 1×1 conv) at every skip level, one decoder
    late          two complete ResUNets, one per sensor; their decoder features are concatenated for evaluation
    sar, optical  one ResUNet on one sensor (the baselines)

Every model returns, per branch, a pooled image-level embedding (projection MLP on the deepest encoder map) and a
full-resolution pixel embedding (1×1 projection of the decoder output); `features` gives the frozen per-pixel
features that the linear evaluation and the unsupervised segmentation read. The input band counts are arguments
(SEN12MS: 2 SAR and 4 optical bands; the real fragment pairs: 1 and 3).

`modal_embeddings` gives what cross-modal retrieval needs: a SAR-branch and an optical-branch embedding in the space
the contrastive loss aligns them in, where the strategy has one (intermediate: the two encoders' image-level
projections; late: the two networks' image-level and pixel-level projections; early and the single-sensor
baselines have no such pair).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

STRATEGIES = ("early", "intermediate", "late", "sar", "optical")
SAR_CHANNELS, OPTICAL_CHANNELS = 2, 4


class ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.skip = (nn.Identity() if cin == cout and stride == 1 else
                     nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + self.skip(x))


class Encoder(nn.Module):
    """Residual encoder: full-resolution stem, then one stride-2 block per further level. Returns every level."""

    def __init__(self, in_chans: int, widths: Sequence[int]):
        super().__init__()
        self.levels = nn.ModuleList([ResBlock(in_chans, widths[0])] +
                                    [ResBlock(widths[i - 1], widths[i], 2) for i in range(1, len(widths))])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for level in self.levels:
            x = level(x)
            out.append(x)
        return out


class Decoder(nn.Module):
    """U-Net decoder: upsample, concatenate the skip, residual block; returns the full-resolution map."""

    def __init__(self, widths: Sequence[int]):
        super().__init__()
        self.blocks = nn.ModuleList([ResBlock(widths[i + 1] + widths[i], widths[i]) for i in range(len(widths) - 1)])

    def forward(self, skips: list[torch.Tensor]) -> torch.Tensor:
        x = skips[-1]
        for i in range(len(skips) - 2, -1, -1):
            x = F.interpolate(x, size=skips[i].shape[-2:], mode="bilinear", align_corners=False)
            x = self.blocks[i](torch.cat([x, skips[i]], dim=1))
        return x


def image_mlp(deep: int, dim: int) -> nn.Module:
    return nn.Sequential(nn.Linear(deep, deep), nn.ReLU(inplace=True), nn.Linear(deep, dim))


class Heads(nn.Module):
    """Image-level projection MLP (on the pooled deepest map) and pixel-level 1×1 projection."""

    def __init__(self, deep: int, pixel: int, dim: int):
        super().__init__()
        self.image = image_mlp(deep, dim)
        self.pixel = nn.Sequential(nn.Conv2d(pixel, pixel, 1), nn.ReLU(inplace=True), nn.Conv2d(pixel, dim, 1))

    def embed_image(self, deep: torch.Tensor) -> torch.Tensor:
        return self.image(deep.mean(dim=(2, 3)))


class ResUNet(nn.Module):
    def __init__(self, in_chans: int, widths: Sequence[int], dim: int):
        super().__init__()
        self.encoder, self.decoder = Encoder(in_chans, widths), Decoder(widths)
        self.heads = Heads(widths[-1], widths[0], dim)

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        skips = self.encoder(x)
        return skips, self.decoder(skips)


class FusionNet(nn.Module):
    """forward(s1, s2) → {"image": {branch: B×dim}, "pixel": {branch: B×dim×H×W}}; features(s1, s2) → B×C×H×W."""

    def __init__(self, strategy: str, widths: Sequence[int] = (32, 64, 128, 256), dim: int = 128,
                 sar_channels: int = SAR_CHANNELS, optical_channels: int = OPTICAL_CHANNELS):
        super().__init__()
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
        self.strategy, self.widths = strategy, tuple(widths)
        if strategy == "early":
            self.net = ResUNet(sar_channels + optical_channels, widths, dim)
        elif strategy == "sar":
            self.net = ResUNet(sar_channels, widths, dim)
        elif strategy == "optical":
            self.net = ResUNet(optical_channels, widths, dim)
        elif strategy == "late":
            self.sar, self.optical = ResUNet(sar_channels, widths, dim), ResUNet(optical_channels, widths, dim)
        else:
            self.sar_encoder = Encoder(sar_channels, widths)
            self.optical_encoder = Encoder(optical_channels, widths)
            self.fuse = nn.ModuleList([nn.Sequential(nn.Conv2d(2 * w, w, 1, bias=False), nn.BatchNorm2d(w),
                                                     nn.ReLU(inplace=True)) for w in widths])
            self.decoder = Decoder(widths)
            self.heads = Heads(widths[-1], widths[0], dim)
            # SAR-vs-optical image-level terms compare the two encoders before fusion
            self.sar_image, self.optical_image = image_mlp(widths[-1], dim), image_mlp(widths[-1], dim)

    @property
    def feature_dim(self) -> int:
        return 2 * self.widths[0] if self.strategy == "late" else self.widths[0]

    def _single(self, s1: torch.Tensor | None, s2: torch.Tensor | None) -> torch.Tensor:
        if self.strategy == "early":
            return torch.cat([s1, s2], dim=1)
        return s1 if self.strategy == "sar" else s2

    def forward(self, s1: torch.Tensor | None, s2: torch.Tensor | None) -> dict[str, dict[str, torch.Tensor]]:
        if self.strategy in ("early", "sar", "optical"):
            skips, dec = self.net(self._single(s1, s2))
            heads = self.net.heads
            return {"image": {"main": heads.embed_image(skips[-1])}, "pixel": {"main": heads.pixel(dec)}}
        if self.strategy == "late":
            out: dict[str, dict[str, torch.Tensor]] = {"image": {}, "pixel": {}}
            for name, net, x in (("sar", self.sar, s1), ("optical", self.optical, s2)):
                skips, dec = net(x)
                out["image"][name] = net.heads.embed_image(skips[-1])
                out["pixel"][name] = net.heads.pixel(dec)
            return out
        sar, opt, fused = self._intermediate(s1, s2)
        dec = self.decoder(fused)
        return {"image": {"main": self.heads.embed_image(fused[-1]),
                          "sar": self.sar_image(sar[-1].mean(dim=(2, 3))),
                          "optical": self.optical_image(opt[-1].mean(dim=(2, 3)))},
                "pixel": {"main": self.heads.pixel(dec)}}

    def features(self, s1: torch.Tensor | None, s2: torch.Tensor | None) -> torch.Tensor:
        """Per-pixel decoder features (before the projection heads), the representation that is evaluated."""
        if self.strategy in ("early", "sar", "optical"):
            return self.net(self._single(s1, s2))[1]
        if self.strategy == "late":
            return torch.cat([self.sar(s1)[1], self.optical(s2)[1]], dim=1)
        return self.decoder(self._intermediate(s1, s2)[2])

    def sar_features(self, s1: torch.Tensor) -> torch.Tensor | None:
        """Per-pixel features computed from the SAR image alone: the SAR-only network's, or late fusion's SAR
        decoder (trained against the optical network); None for strategies that need the optical input."""
        if self.strategy == "sar":
            return self.net(s1)[1]
        return self.sar(s1)[1] if self.strategy == "late" else None

    def modal_embeddings(self, s1: torch.Tensor, s2: torch.Tensor) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """{"image": (SAR B×dim, optical B×dim), "pixel": (SAR B×dim×H×W, optical B×dim×H×W)}: each modality
        embedded by its own branch, in the space the cross-modal contrastive terms align. Intermediate fusion has
        only the image level (one shared decoder); early fusion and the single-sensor baselines have neither."""
        if self.strategy == "late":
            out = self.forward(s1, s2)
            return {level: (out[level]["sar"], out[level]["optical"]) for level in ("image", "pixel")}
        if self.strategy == "intermediate":
            sar, opt = self.sar_encoder(s1), self.optical_encoder(s2)
            return {"image": (self.sar_image(sar[-1].mean(dim=(2, 3))), self.optical_image(opt[-1].mean(dim=(2, 3))))}
        return {}

    def _intermediate(self, s1: torch.Tensor, s2: torch.Tensor):
        """Intermediate fusion: (SAR levels, optical levels, fused levels), fused = 1×1 conv of the concatenation."""
        sar, opt = self.sar_encoder(s1), self.optical_encoder(s2)
        return sar, opt, [f(torch.cat([a, b], dim=1)) for f, a, b in zip(self.fuse, sar, opt)]

    @property
    def modalities(self) -> tuple[str, ...]:
        return {"sar": ("s1",), "optical": ("s2",)}.get(self.strategy, ("s1", "s2"))
