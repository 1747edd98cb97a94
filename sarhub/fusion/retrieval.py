"""A label-free test of what the cross-modal contrastive terms promise: on held-out pairs, a SAR patch's embedding
should find its own optical patch among all held-out optical patches, and the reverse; at super-pixel level, a
super-pixel's SAR embedding should find the same super-pixel's optical embedding.

Embeddings are the ones the loss aligns (`FusionNet.modal_embeddings`): image level, the two branches' projections
of their pooled deepest maps; super-pixel level (late fusion only), each branch's pixel projection averaged over
the super-pixel (the Felzenszwalb map of the optical patch, as in training). Held-out patches are resized to the
mean scale of the training views (`view_zoom`) with the bilinear sampling the views had.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from sarhub.fusion.models import FusionNet
from sarhub.fusion.superpixels import superpixel_means
from sarhub.metrics.retrieval import group_sizes, partner_ranks, topk_rates


def view_zoom(crop: int, patch: int, min_scale: float) -> float:
    """Pixels of a training view per input pixel, on average: views are `crop` px resampled from crops of
    U(min_scale, 1) × the `patch` side."""
    return crop / (patch * (1 + min_scale) / 2)


def resize(x: torch.Tensor, zoom: float, nearest: bool = False) -> torch.Tensor:
    """B×C×H×W images (bilinear, like the views) or B×H×W integer maps (nearest) scaled by `zoom`."""
    size = [max(1, round(s * zoom)) for s in x.shape[-2:]]
    if nearest:
        return F.interpolate(x[:, None].float(), size=size, mode="nearest")[:, 0].to(x.dtype)
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


@torch.no_grad()
def pair_embeddings(model: FusionNet, dataset: Dataset, device: torch.device, zoom: float,
                    segments: torch.Tensor | None = None, batch_size: int = 16) -> dict[str, tuple]:
    """{"image": (SAR N×D, optical N×D)} for every patch and, when the model has pixel embeddings and `segments`
    (N×H×W super-pixel ids) are given, {"superpixel": (SAR M×D, optical M×D, patch index M)} for every
    super-pixel still present at the resized scale. Empty for strategies without cross-modal embeddings."""
    out: dict[str, list] = {}
    for batch in DataLoader(dataset, batch_size=batch_size):
        s1, s2 = resize(batch["s1"].to(device), zoom), resize(batch["s2"].to(device), zoom)
        emb = model.modal_embeddings(s1, s2)
        if "image" in emb:
            out.setdefault("image", []).append(tuple(e.cpu() for e in emb["image"]))
        if "pixel" in emb and segments is not None:
            seg = resize(segments[batch["index"]], zoom, nearest=True).to(device)
            num = int(seg.max()) + 1
            (sar, present), (opt, _) = (superpixel_means(e, seg, num) for e in emb["pixel"])
            patch = batch["index"].to(device).repeat_interleave(num)
            out.setdefault("superpixel", []).append((sar[present].cpu(), opt[present].cpu(), patch[present].cpu()))
    return {level: tuple(torch.cat(parts) for parts in zip(*chunks)) for level, chunks in out.items()}


def retrieval_rows(embeddings: dict[str, tuple]) -> list[dict]:
    """Top-1/top-5 both ways: image level among all patches; super-pixel level among the super-pixels of the same
    patch and among all held-out super-pixels. `candidates` is N (the mean N for the same-patch test)."""
    rows = []
    if "image" in embeddings:
        rows.append({"level": "image", "candidates": len(embeddings["image"][0]),
                     **directions(*embeddings["image"])})
    if "superpixel" in embeddings:
        sar, opt, patch = embeddings["superpixel"]
        rows.append({"level": "super-pixel, same patch", "candidates": float(group_sizes(patch).double().mean()),
                     **directions(sar, opt, patch)})
        rows.append({"level": "super-pixel, all held-out", "candidates": len(sar), **directions(sar, opt)})
    return rows


def directions(sar: torch.Tensor, opt: torch.Tensor, groups: torch.Tensor | None = None) -> dict[str, float]:
    """Top-k of SAR → optical and optical → SAR retrieval."""
    forward, backward = topk_rates(partner_ranks(sar, opt, groups)), topk_rates(partner_ranks(opt, sar, groups))
    return {**{f"sar_to_optical_{k}": v for k, v in forward.items()},
            **{f"optical_to_sar_{k}": v for k, v in backward.items()}}
