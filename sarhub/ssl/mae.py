"""Masked image modelling for SAR: a timm ViT encoder sees 25 % of the patches, a light MAE decoder predicts the
multi-scale gradient features (not the pixels) of the masked 75 %; the loss is the MSE on masked patches only."""
from __future__ import annotations

from typing import Sequence

import timm
import torch
from timm.models.vision_transformer import Block
from torch import nn

from sarhub.ssl.gradient_targets import DEFAULT_SCALES, gradient_features, patch_targets

ENCODERS = {"vit_tiny": "vit_tiny_patch16_224", "vit_small": "vit_small_patch16_224", "vit_base": "vit_base_patch16_224"}


def random_masking(tokens: torch.Tensor, ratio: float, generator: torch.Generator | None = None):
    """Keep a random (1 − ratio) subset of the N tokens of each sample.

    Returns (kept tokens B×K×D, mask B×N with 1 = masked, ids_restore B×N) as in MAE; K = round(N·(1 − ratio)).
    """
    b, n, d = tokens.shape
    keep = max(1, int(round(n * (1 - ratio))))
    noise = torch.rand(b, n, device=tokens.device, generator=generator)
    ids_shuffle = noise.argsort(dim=1)
    ids_restore = ids_shuffle.argsort(dim=1)
    kept = tokens.gather(1, ids_shuffle[:, :keep, None].expand(-1, -1, d))
    mask = torch.ones(b, n, device=tokens.device)
    mask[:, :keep] = 0
    return kept, mask.gather(1, ids_restore), ids_restore


class GradientMAE(nn.Module):
    """ViT encoder (single-channel patch embedding) + MAE decoder (512-d by default) with gradient targets."""

    def __init__(self, encoder: str = "vit_small", img_size: int = 128, patch_size: int = 16,
                 decoder_dim: int = 512, decoder_depth: int = 4, decoder_heads: int = 16, mask_ratio: float = 0.75,
                 scales: Sequence[int] = DEFAULT_SCALES):
        super().__init__()
        self.encoder = timm.create_model(ENCODERS.get(encoder, encoder), img_size=img_size, patch_size=patch_size,
                                         in_chans=1, num_classes=0)
        dim = self.encoder.embed_dim
        self.patch_size, self.mask_ratio, self.scales = patch_size, mask_ratio, tuple(scales)
        self.num_patches = self.encoder.patch_embed.num_patches
        self.decoder_embed = nn.Linear(dim, decoder_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, decoder_dim))
        self.decoder_pos = nn.Parameter(torch.zeros(1, self.num_patches, decoder_dim))
        self.decoder = nn.Sequential(*[Block(decoder_dim, decoder_heads, qkv_bias=True) for _ in range(decoder_depth)])
        self.decoder_norm = nn.LayerNorm(decoder_dim)
        self.head = nn.Linear(decoder_dim, len(self.scales) * patch_size**2)
        nn.init.normal_(self.mask_token, std=0.02)
        nn.init.trunc_normal_(self.decoder_pos, std=0.02)

    def encode(self, x: torch.Tensor, mask_ratio: float = 0.0, generator: torch.Generator | None = None):
        """Visible-token encoding. Returns (tokens B×(1+K)×D incl. the class token, mask, ids_restore)."""
        enc = self.encoder
        tokens = enc.patch_embed(x)
        prefix = enc.num_prefix_tokens
        tokens = tokens + enc.pos_embed[:, prefix:]
        if mask_ratio > 0:
            tokens, mask, ids_restore = random_masking(tokens, mask_ratio, generator)
        else:
            mask = torch.zeros(tokens.shape[:2], device=x.device)
            ids_restore = torch.arange(tokens.shape[1], device=x.device).expand(tokens.shape[0], -1)
        if prefix:
            cls = (enc.cls_token + enc.pos_embed[:, :1]).expand(tokens.shape[0], -1, -1)
            tokens = torch.cat([cls, tokens], dim=1)
        tokens = enc.norm(enc.blocks(enc.norm_pre(tokens)))
        return tokens, mask, ids_restore

    def decode(self, tokens: torch.Tensor, ids_restore: torch.Tensor) -> torch.Tensor:
        x = self.decoder_embed(tokens[:, self.encoder.num_prefix_tokens:])
        b, k, d = x.shape
        x = torch.cat([x, self.mask_token.expand(b, self.num_patches - k, -1)], dim=1)
        x = x.gather(1, ids_restore[..., None].expand(-1, -1, d)) + self.decoder_pos
        return self.head(self.decoder_norm(self.decoder(x)))

    def targets(self, x: torch.Tensor, feature_maps: torch.Tensor | None = None) -> torch.Tensor:
        """Per-patch targets; `feature_maps` (B×S×H×W, e.g. cached per image) skips recomputing them."""
        maps = gradient_features(x, self.scales) if feature_maps is None else feature_maps.float()
        return patch_targets(maps, self.patch_size)

    def forward(self, x: torch.Tensor, feature_maps: torch.Tensor | None = None,
                generator: torch.Generator | None = None):
        """Returns (loss, prediction B×N×T, mask B×N): MSE over the masked patches only."""
        tokens, mask, ids_restore = self.encode(x, self.mask_ratio, generator)
        pred = self.decode(tokens, ids_restore)
        per_patch = ((pred - self.targets(x, feature_maps)) ** 2).mean(dim=-1)
        loss = (per_patch * mask).sum() / mask.sum().clamp_min(1)
        return loss, pred, mask

    @torch.no_grad()
    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Frozen-encoder image feature for linear probing: the mean of the patch tokens (all patches visible)."""
        tokens, _, _ = self.encode(x)
        return tokens[:, self.encoder.num_prefix_tokens:].mean(dim=1)
