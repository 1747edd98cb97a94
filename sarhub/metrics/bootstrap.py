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
        annotations += [{**ann, "id": len(annotations) + n, "image_id": k}  # unique ids: COCO indexes by them
                        for n, ann in enumerate(by_image.get(source, []), start=1)]
        out += [{**det, "image_id": k} for det in dets.get(source, [])]
    return {**gt, "images": images, "annotations": annotations}, out


_IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)  # COCO's ten IoU thresholds and 101 recall points
_RECALL_POINTS = np.linspace(0.0, 1.0, 101)


def _box_iou(dt: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """IoU of xywh boxes as COCO computes it (no +1 on widths)."""
    x1 = np.maximum(dt[:, None, 0], gt[None, :, 0])
    y1 = np.maximum(dt[:, None, 1], gt[None, :, 1])
    x2 = np.minimum(dt[:, None, 0] + dt[:, None, 2], gt[None, :, 0] + gt[None, :, 2])
    y2 = np.minimum(dt[:, None, 1] + dt[:, None, 3], gt[None, :, 1] + gt[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    union = (dt[:, 2] * dt[:, 3])[:, None] + (gt[:, 2] * gt[:, 3])[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


class CocoMatches:
    """COCO's per-image matching (area "all", 100 detections per image, ten IoU thresholds), done once, so that a
    bootstrap draw of images only re-accumulates precision and recall: the same AP as `coco_evaluate` on the
    resampled set, without a COCO evaluation per draw (hundreds of times faster). Crowd or ignored boxes are not
    handled; `usable` says whether this ground truth has none."""

    def __init__(self, gt: dict, detections: list[dict], max_dets: int = 100) -> None:
        anns = gt["annotations"]
        self.usable = not any(a.get("iscrowd") or a.get("ignore") for a in anns)
        self.categories = [c["id"] for c in gt["categories"]]
        index = {img["id"]: i for i, img in enumerate(gt["images"])}
        boxes: dict[tuple[int, int], list] = {}
        for a in anns:
            boxes.setdefault((index[a["image_id"]], a["category_id"]), []).append(a["bbox"])
        found: dict[tuple[int, int], list] = {}
        for d in detections:
            found.setdefault((index[d["image_id"]], d["category_id"]), []).append((d["score"], d["bbox"]))
        # (image, category) -> (scores in COCO's order, matched flags [threshold, detection], counted ground truths)
        self.table: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, int]] = {}
        for key in set(boxes) | set(found):
            g = np.asarray(boxes.get(key, []), dtype=float).reshape(-1, 4)
            dets = found.get(key, [])
            scores = np.asarray([s for s, _ in dets], dtype=float)
            order = np.argsort(-scores, kind="mergesort")[:max_dets]
            scores = scores[order]
            d = np.asarray([dets[i][1] for i in order], dtype=float).reshape(-1, 4)
            iou = _box_iou(d, g) if len(d) and len(g) else np.zeros((len(d), len(g)))
            matched = np.zeros((len(_IOU_THRESHOLDS), len(d)), dtype=bool)
            for t, threshold in enumerate(_IOU_THRESHOLDS):
                taken = np.zeros(len(g), dtype=bool)
                for j in range(len(d)):  # greedy in score order; the last of equal best IoUs wins, as in COCO
                    best, m = min(threshold, 1 - 1e-10), -1
                    for k in range(len(g)):  # a few ships per image: plain loops beat numpy calls here
                        if not taken[k] and iou[j, k] >= best:
                            best, m = iou[j, k], k
                    if m >= 0:
                        taken[m], matched[t, j] = True, True
            self.table[key] = (scores, matched, len(g))

    def score(self, idx: np.ndarray, key: str) -> float:
        """COCO `key` ("AP" or "AP50", %) on the images `idx` (with repeats), in COCO's accumulation order."""
        precision = []
        for category in self.categories:
            entries = [self.table[(i, category)] for i in idx.tolist() if (i, category) in self.table]
            n_gt = sum(e[2] for e in entries)
            if n_gt == 0:
                continue
            scores = np.concatenate([e[0] for e in entries])
            matched = np.concatenate([e[1] for e in entries], axis=1)[:, np.argsort(-scores, kind="mergesort")]
            tp, fp = np.cumsum(matched, axis=1), np.cumsum(~matched, axis=1)
            q = np.zeros((len(_IOU_THRESHOLDS), len(_RECALL_POINTS)))
            if matched.shape[1]:
                recall = tp / n_gt
                prec = np.maximum.accumulate((tp / (tp + fp + np.spacing(1)))[:, ::-1], axis=1)[:, ::-1]
                for t in range(len(_IOU_THRESHOLDS)):
                    at = np.searchsorted(recall[t], _RECALL_POINTS, side="left")
                    ok = at < matched.shape[1]
                    q[t, ok] = prec[t, at[ok]]
            precision.append(q[0] if key == "AP50" else q)
        return 100.0 * float(np.mean(precision)) if precision else math.nan


def detection_difference(gt: dict, a: list[dict], b: list[dict], key: str = "AP50", draws: int = 300,
                         seed: int = 0) -> tuple[float, float, float]:
    """Paired bootstrap over test images of COCO `key` (%) of detections a minus detections b on ground truth gt."""
    fast_a = CocoMatches(gt, a)
    if fast_a.usable and key in ("AP", "AP50"):
        fast_b = CocoMatches(gt, b)
        return paired_image_bootstrap(lambda idx: fast_a.score(idx, key) - fast_b.score(idx, key),
                                      len(gt["images"]), draws, seed)

    def score(dets: list[dict], idx: np.ndarray) -> float:
        return 100.0 * coco_evaluate(*resampled_coco(gt, dets, idx))[key]

    return paired_image_bootstrap(lambda idx: score(a, idx) - score(b, idx), len(gt["images"]), draws, seed)
