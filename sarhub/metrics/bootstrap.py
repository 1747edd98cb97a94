"""Means, spreads and paired bootstrap intervals for the transfer benchmark: over seeds (a few runs per cell), and over
test images for the single-seed dense tasks, where the resampled images are the same for both models (paired).

Percentile bootstrap (Efron): resample with replacement `draws` times from one seeded generator, take the 2.5 and
97.5 % quantiles of the statistic. With three seeds an interval over seeds is coarse; it is reported as such.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
import torch

from sarhub.metrics.detection import coco_evaluate
from sarhub.metrics.segmentation import segmentation_scores


def mean_sd(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (nan for one value)."""
    arr = np.asarray(values, dtype=float)
    return float(arr.mean()), float(arr.std(ddof=1)) if len(arr) > 1 else math.nan


def bootstrap_mean_ci(values: Sequence[float], draws: int = 10000, seed: int = 0,
                      level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): the percentile bootstrap interval of the mean of `values` (e.g. paired differences over
    seeds). One value gives (value, nan, nan)."""
    arr = np.asarray(values, dtype=float)
    if len(arr) < 2:
        return float(arr.mean()) if len(arr) else math.nan, math.nan, math.nan
    rng = np.random.default_rng(seed)
    means = arr[rng.integers(0, len(arr), size=(draws, len(arr)))].mean(axis=1)
    alpha = (1 - level) / 2
    return float(arr.mean()), float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def paired_image_bootstrap(statistic: Callable[[np.ndarray], float], n_images: int, draws: int = 1000,
                           seed: int = 0, level: float = 0.95) -> tuple[float, float, float]:
    """(statistic on all images, low, high): `statistic(indices)` of resampled image indices, the same indices for
    whatever the statistic compares (a difference of two models' scores)."""
    rng = np.random.default_rng(seed)
    full = statistic(np.arange(n_images))
    values = [statistic(rng.integers(0, n_images, size=n_images)) for _ in range(draws)]
    alpha = (1 - level) / 2
    return full, float(np.quantile(values, alpha)), float(np.quantile(values, 1 - alpha))


def segmentation_difference(a: torch.Tensor, b: torch.Tensor, key: str, target: str = "building",
                            draws: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    """Paired bootstrap over images of score `key` (e.g. "miou") of model a minus model b, from each model's N×K×K
    per-image confusion counts on the same images in the same order."""
    if a.shape != b.shape:
        raise ValueError(f"per-image confusions of different test sets: {tuple(a.shape)} vs {tuple(b.shape)}")

    def stat(idx: np.ndarray) -> float:
        index = torch.as_tensor(idx)
        return (segmentation_scores(a[index].sum(dim=0), target=target)[key]
                - segmentation_scores(b[index].sum(dim=0), target=target)[key])
    return paired_image_bootstrap(stat, len(a), draws, seed)


def resampled_coco(gt: dict, detections: list[dict], idx: np.ndarray) -> tuple[dict, list[dict]]:
    """A COCO ground truth and detections for images drawn with replacement: the k-th draw becomes image k (so an
    image drawn twice counts twice, as the bootstrap wants)."""
    ids = [img["id"] for img in gt["images"]]
    by_image: dict[int, list[dict]] = {}
    for ann in gt["annotations"]:
        by_image.setdefault(ann["image_id"], []).append(ann)
    dets: dict[int, list[dict]] = {}
    for det in detections:
        dets.setdefault(det["image_id"], []).append(det)
    images, annotations, out = [], [], []
    for k, i in enumerate(idx.tolist(), start=1):
        source = ids[i]
        images.append({**gt["images"][i], "id": k})
        annotations += [{**ann, "id": len(annotations) + 1, "image_id": k} for ann in by_image.get(source, [])]
        out += [{**det, "image_id": k} for det in dets.get(source, [])]
    return {**gt, "images": images, "annotations": annotations}, out


def detection_difference(gt: dict, a: list[dict], b: list[dict], key: str = "AP50", draws: int = 300,
                         seed: int = 0) -> tuple[float, float, float]:
    """Paired bootstrap over test images of COCO `key` (%) of detections a minus detections b on ground truth gt."""
    def score(dets: list[dict], idx: np.ndarray) -> float:
        return 100.0 * coco_evaluate(*resampled_coco(gt, dets, idx))[key]

    return paired_image_bootstrap(lambda idx: score(a, idx) - score(b, idx), len(gt["images"]), draws, seed)
