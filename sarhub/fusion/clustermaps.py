"""Unsupervised cluster maps of real ground without labels: Gumbel-VQ maps of whole fragments from frozen fusion
features, k-means maps of the raw pixels, and how far a map follows the optical image.

There is no land-cover truth for the real pairs, so the one number is label-free: the Hungarian-matched pixel
agreement between a cluster map and a k-means map of the optical image (K clusters each, one matching over all
held-out fragments). It measures whether the map divides the ground where the optical colours divide it. It does
not measure land-cover accuracy: optical k-means splits one cover by illumination (sunlit and shaded slopes) and
merges covers of one colour, maps computed with the optical input are partly scored against their own input, and
large clusters dominate the matching. The chance level is the agreement of each fragment's map with the optical
k-means map of another held-out fragment (same cluster sizes, unrelated ground).

Whole fragments are processed at once (the networks are fully convolutional), resized to the mean scale of the
training views like the retrieval test.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from sarhub.data.s1s2_pairs import PairedPatches
from sarhub.fusion.data import pixel_rows
from sarhub.fusion.models import FusionNet
from sarhub.fusion.retrieval import resize
from sarhub.metrics.segmentation import contingency, hungarian_mapping, matched_agreement

Fragment = dict  # {"s1": 1×C×H×W, "s2": 1×C×H×W, "fragment": name}


@dataclass
class FeatureSource:
    """Per-pixel features a cluster map is computed from: `features(s1, s2)` → B×C×H×W."""

    name: str
    inputs: str  # "SAR", "optical" or "SAR + optical"
    features: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def feature_sources(model: FusionNet, label: str) -> list[FeatureSource]:
    """The model's features from everything it reads and, for late fusion, its SAR network alone (SAR input only,
    but trained against the optical network)."""
    inputs = {"sar": "SAR", "optical": "optical"}.get(model.strategy, "SAR + optical")
    sources = [FeatureSource(label, inputs, lambda s1, s2: model.features(
        s1 if "s1" in model.modalities else None, s2 if "s2" in model.modalities else None))]
    if model.strategy == "late":
        sources.append(FeatureSource(f"{label}, SAR branch", "SAR", lambda s1, s2: model.sar_features(s1)))
    return sources


def fragments_at(dataset: PairedPatches, zoom: float) -> list[Fragment]:
    """Every fragment of a pair set, normalised and resized by `zoom`, with a batch dimension."""
    out = []
    for f in range(len(dataset.names)):
        whole = dataset.fragment(f)
        out.append({"s1": resize(whole["s1"][None], zoom), "s2": resize(whole["s2"][None], zoom),
                    "fragment": whole["fragment"]})
    return out


@torch.no_grad()
def feature_rows(features: Callable, fragments: Sequence[Fragment], per_fragment: int, seed: int,
                 device: torch.device | str = "cpu") -> torch.Tensor:
    """`per_fragment` random pixel rows of the features of every fragment (what the VQ or k-means is fitted on)."""
    g = torch.Generator().manual_seed(seed)
    rows = []
    for frag in fragments:
        r = pixel_rows(features(frag["s1"].to(device), frag["s2"].to(device))).cpu()
        rows.append(r[torch.randperm(len(r), generator=g)[:per_fragment]])
    return torch.cat(rows)


@torch.no_grad()
def cluster_maps(assign: Callable[[torch.Tensor], torch.Tensor], features: Callable, fragments: Sequence[Fragment],
                 device: torch.device | str = "cpu") -> list[torch.Tensor]:
    """H×W cluster map of each fragment: `assign` maps B×C×H×W features to B×H×W cluster ids."""
    return [assign(features(f["s1"].to(device), f["s2"].to(device)))[0].cpu() for f in fragments]


def nearest_centre(centres: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    """k-means assignment of B×C×H×W values to B×H×W ids of their nearest centre."""
    def assign(x: torch.Tensor) -> torch.Tensor:
        return torch.cdist(pixel_rows(x), centres.to(x)).argmin(dim=1).reshape(x.shape[0], *x.shape[2:])
    return assign


def map_contingency(maps: Sequence[torch.Tensor], reference: Sequence[torch.Tensor], k: int,
                    shift: int = 0) -> torch.Tensor:
    """K×K counts of (map cluster, reference cluster) over all fragments; `shift` pairs map i with reference
    i + shift (the chance level), both cropped to their common size."""
    counts = torch.zeros(k, k, dtype=torch.int64)
    for i, a in enumerate(maps):
        b = reference[(i + shift) % len(reference)]
        h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
        counts += contingency(a[:h, :w], b[:h, :w], k, k)
    return counts


def agreement(maps: Sequence[torch.Tensor], reference: Sequence[torch.Tensor], k: int) -> dict:
    """Matched pixel agreement (%) with the reference maps, its chance level (each map against another fragment's
    reference), and the cluster → reference-cluster lookup (for colouring the figures alike)."""
    counts = map_contingency(maps, reference, k)
    chance = matched_agreement(map_contingency(maps, reference, k, shift=1)) if len(maps) > 1 else float("nan")
    return {"agreement": matched_agreement(counts), "chance": chance, "lookup": hungarian_mapping(counts)}
