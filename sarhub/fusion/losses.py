"""Hard-negative contrastive loss (HCL, Robinson et al., ICLR 2021) used at image and super-pixel level.

For 2N embeddings (N positive pairs (a_i, b_i)), every anchor u has one positive v and the 2N − 2 other embeddings
as negatives. With s(u, w) = cos(u, w) / τ:

    pos    = exp(s(u, v))
    w_k    = exp(β · s(u, n_k)) / mean_k exp(β · s(u, n_k))          importance weights favouring hard negatives
    Ng     = max( (Σ_k w_k exp(s(u, n_k)) − M · τ⁺ · pos) / (1 − τ⁺),  M · e^{−1/τ} ),   M = 2N − 2
    loss   = mean over the 2N anchors of −log(pos / (pos + Ng))

τ⁺ is the class prior of the debiasing term (a "negative" that is in fact a positive); β = 0 gives the debiased
contrastive loss, β = 0, τ⁺ = 0 the plain NT-Xent loss.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from sarhub.fusion.superpixels import superpixel_means


def hcl_loss(a: torch.Tensor, b: torch.Tensor, tau: float = 0.5, tau_plus: float = 0.1, beta: float = 1.0) -> torch.Tensor:
    """HCL between N×D embeddings `a` and `b`, where row i of `a` and row i of `b` are the positive pair."""
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"expected two N×D tensors of the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    n = a.shape[0]
    if n < 2:
        raise ValueError("HCL needs at least 2 pairs (negatives come from the other pairs)")
    z = F.normalize(torch.cat([a, b]).float(), dim=1)
    sim = z @ z.t() / tau  # 2N×2N
    idx = torch.arange(2 * n, device=z.device)
    partner = (idx + n) % (2 * n)
    pos = sim[idx, partner]
    negative = torch.ones_like(sim, dtype=torch.bool)
    negative[idx, idx] = False
    negative[idx, partner] = False
    neg = sim[negative].view(2 * n, 2 * n - 2)
    m = 2 * n - 2
    weights = torch.softmax(beta * neg, dim=1) * m  # = exp(β s) / mean exp(β s)
    reweighted = (weights * neg.exp()).sum(dim=1)
    ng = (reweighted - m * tau_plus * pos.exp()) / (1 - tau_plus)
    ng = ng.clamp(min=m * math.exp(-1 / tau))
    # −log(e^pos / (e^pos + Ng)) = log(e^pos + Ng) − pos, computed without dividing small numbers
    return (torch.log(pos.exp() + ng) - pos).mean()


def superpixel_pairs(pix1: torch.Tensor, pix2: torch.Tensor, seg1: torch.Tensor, seg2: torch.Tensor,
                     max_pairs: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean embeddings of the super-pixels seen in both views (same id, same image), at most `max_pairs` of them."""
    num = int(max(seg1.max(), seg2.max())) + 1
    m1, present1 = superpixel_means(pix1, seg1, num)
    m2, present2 = superpixel_means(pix2, seg2, num)
    both = torch.nonzero(present1 & present2).flatten()
    if len(both) > max_pairs:
        both = both[torch.randperm(len(both), generator=generator)[:max_pairs].to(both.device)]
    return m1[both], m2[both]


def fusion_objective(out1: dict, out2: dict, seg1: torch.Tensor | None, seg2: torch.Tensor | None,
                     max_superpixels: int = 256, superpixel: bool = True, **hcl: float
                     ) -> tuple[torch.Tensor, dict[str, float]]:
    """Sum of the HCL terms of one strategy, from the model outputs of two augmented views and their super-pixels.

    view terms: image-level and super-pixel-level HCL between the two views, for every branch ("main" for early and
    intermediate fusion and the baselines, "sar" and "optical" for late fusion); cross-modal terms, within each
    view: intermediate fusion compares the SAR and optical encoders' pooled features, late fusion compares the two
    networks at image and at super-pixel level. superpixel=False keeps the image-level terms only (the
    image-level contrastive baseline; the super-pixel maps are then not needed).
    """
    terms: dict[str, torch.Tensor] = {}
    for branch in out1["pixel"]:
        terms[f"image_{branch}"] = hcl_loss(out1["image"][branch], out2["image"][branch], **hcl)
        if not superpixel:
            continue
        a, b = superpixel_pairs(out1["pixel"][branch], out2["pixel"][branch], seg1, seg2, max_superpixels)
        terms[f"superpixel_{branch}"] = hcl_loss(a, b, **hcl)
    if "sar" in out1["image"] and "optical" in out1["image"]:
        for v, (out, seg) in enumerate(((out1, seg1), (out2, seg2)), start=1):
            terms[f"cross_image_v{v}"] = hcl_loss(out["image"]["sar"], out["image"]["optical"], **hcl)
            if superpixel and "sar" in out["pixel"]:
                a, b = superpixel_pairs(out["pixel"]["sar"], out["pixel"]["optical"], seg, seg, max_superpixels)
                terms[f"cross_superpixel_v{v}"] = hcl_loss(a, b, **hcl)
    total = torch.stack(list(terms.values())).sum()
    return total, {k: float(v.detach()) for k, v in terms.items()}
