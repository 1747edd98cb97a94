"""Unsupervised land-cover segmentation: a Gumbel-softmax vector quantiser over frozen per-pixel features, and the
k-means-on-pixels baseline it is compared with.

The quantiser maps each pixel feature f to logits over K codewords; in training a hard Gumbel-softmax sample
(straight-through) picks the codeword q, and the loss is
    HCL(z, q)                      contrastive: a pixel's projection z must match its own quantised vector
  + ‖sg(z) − q‖² + 0.25·‖z − sg(q)‖²   codebook and commitment terms (VQ-VAE)
  + w_div · (log K − H(mean_p softmax(logits)))   diversity: use every codeword (wav2vec 2.0)
over random pixels of the batch. Inference is deterministic: cluster = argmax of the logits, no Gumbel noise.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from sarhub.fusion.losses import hcl_loss


class GumbelVQ(nn.Module):
    """Works on pixel features as N×C rows; `assign` maps whole B×C×H×W feature maps to cluster maps."""

    def __init__(self, in_dim: int, num_codes: int, dim: int = 64, tau: float = 1.0):
        super().__init__()
        self.project = nn.Sequential(nn.BatchNorm1d(in_dim, affine=False), nn.Linear(in_dim, dim),
                                     nn.ReLU(inplace=True), nn.Linear(dim, dim))
        self.logits = nn.Linear(dim, num_codes)
        self.codebook = nn.Parameter(torch.randn(num_codes, dim) * 0.1)
        self.num_codes, self.tau = num_codes, tau

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """N×C pixel features → (projection z N×D, logits N×K)."""
        z = self.project(pixels)
        return z, self.logits(z)

    @torch.no_grad()
    def assign(self, features: torch.Tensor) -> torch.Tensor:
        """Deterministic cluster map B×H×W (argmax of the logits, no Gumbel noise) of B×C×H×W features."""
        b, c, h, w = features.shape
        logits = self.forward(features.permute(0, 2, 3, 1).reshape(-1, c))[1]
        return logits.argmax(dim=1).reshape(b, h, w)

    def loss(self, pixels: torch.Tensor, diversity: float = 1.0, **hcl: float) -> tuple[torch.Tensor, dict[str, float]]:
        """The training loss on a batch of N×C pixel features (sampled from the feature maps by the caller)."""
        z, logits = self.forward(pixels)
        onehot = F.gumbel_softmax(logits, tau=self.tau, hard=True)
        q = onehot @ self.codebook
        contrast = hcl_loss(z, q, **hcl)
        codebook = F.mse_loss(q, z.detach()) + 0.25 * F.mse_loss(z, q.detach())
        usage = logits.softmax(dim=1).mean(dim=0)
        div = math.log(self.num_codes) + (usage * usage.clamp_min(1e-9).log()).sum()
        total = contrast + codebook + diversity * div
        return total, {"contrast": float(contrast.detach()), "codebook": float(codebook.detach()),
                       "diversity": float(div.detach())}


def train_vq(rows: torch.Tensor, k: int, steps: int = 1000, lr: float = 1e-3, pixels_per_step: int = 512,
             diversity: float = 1.0, seed: int = 0, device: torch.device | str = "cpu") -> GumbelVQ:
    """A K-codeword GumbelVQ trained on frozen N×C pixel feature rows (kept on the CPU, `pixels_per_step` random
    rows per AdamW step; `seed` draws the rows, the global torch RNG the initial weights); returned in eval mode."""
    vq = GumbelVQ(rows.shape[1], k).to(device)
    opt = torch.optim.AdamW(vq.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    for _ in tqdm(range(steps), desc="VQ steps", leave=False):
        pick = torch.randint(len(rows), (pixels_per_step,), generator=g)
        loss, _ = vq.loss(rows[pick].to(device), diversity)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return vq.eval()


def sample_rows(rows: torch.Tensor, n: int, seed: int = 0) -> torch.Tensor:
    """At most `n` rows drawn without replacement (seeded)."""
    return rows[torch.randperm(len(rows), generator=torch.Generator().manual_seed(seed))[:n]]


def kmeans(x: torch.Tensor, k: int, iters: int = 50, seed: int = 0, restarts: int = 5) -> torch.Tensor:
    """k-means++ initialised Lloyd iterations on N×D points, best of `restarts` by inertia; returns K×D centres."""
    g = torch.Generator().manual_seed(seed)
    best, best_inertia = None, float("inf")
    for _ in range(restarts):
        centres = x[torch.randint(len(x), (1,), generator=g)]
        for _ in range(1, k):
            d2 = torch.cdist(x, centres).min(dim=1).values ** 2
            centres = torch.cat([centres, x[torch.multinomial(d2 / d2.sum(), 1, generator=g)]])
        for _ in range(iters):
            assign = torch.cdist(x, centres).argmin(dim=1)
            sums = torch.zeros_like(centres).index_add_(0, assign, x)
            counts = torch.bincount(assign, minlength=k).to(x.dtype)
            moved = torch.where(counts[:, None] > 0, sums / counts.clamp_min(1)[:, None], centres)
            if torch.allclose(moved, centres):
                break
            centres = moved
        inertia = float((torch.cdist(x, centres).min(dim=1).values ** 2).sum())
        if inertia < best_inertia:
            best, best_inertia = centres, inertia
    return best
