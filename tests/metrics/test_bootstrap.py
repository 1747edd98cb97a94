"""Statistics of the benchmark tables: mean and sd, bootstrap confidence intervals, paired segmentation and detection
differences (the detection fast path against a COCO evaluation of each resampled set)."""
import numpy as np
import pytest
import torch

from sarhub.metrics.bootstrap import (
    CocoMatches,
    bootstrap_mean_ci,
    detection_difference,
    mean_sd,
    resampled_coco,
    segmentation_difference,
)
from sarhub.metrics.detection import coco_evaluate


def test_statistics_match_a_hand_computation():
    assert mean_sd([1.0, 2.0, 4.0]) == pytest.approx((7 / 3, np.std([1, 2, 4], ddof=1)))
    diffs = [2.0, 3.0, 7.0]
    mean, lo, hi = bootstrap_mean_ci(diffs, draws=20000, seed=0)
    rng = np.random.default_rng(0)
    means = np.asarray(diffs)[rng.integers(0, 3, size=(20000, 3))].mean(axis=1)
    assert (mean, lo, hi) == pytest.approx((4.0, np.quantile(means, 0.025), np.quantile(means, 0.975)))
    assert 2.0 <= lo < mean < hi <= 7.0
    a = torch.tensor([[[5, 0], [0, 5]], [[5, 0], [0, 5]]])  # two images, both perfect
    b = torch.tensor([[[5, 0], [5, 0]], [[5, 0], [0, 5]]])  # the first image misses its target
    diff, lo, hi = segmentation_difference(a, b, "miou", draws=200)
    full_b = 100 * (10 / 15 + 5 / 10) / 2  # IoU background 10/15, target 5/10 of b summed
    assert diff == pytest.approx(100 - full_b) and lo >= 0 and hi <= 100


def _detections(seed: int, images: int = 12) -> tuple[dict, list[dict]]:
    """Two categories, some images without ships, near and far detections, tied scores and 120 boxes on one image."""
    rng = np.random.default_rng(seed)
    gt = {"images": [{"id": 10 + i, "width": 100, "height": 100} for i in range(images)],
          "categories": [{"id": 0, "name": "ship"}, {"id": 1, "name": "boat"}], "annotations": []}
    dets = []
    for i in range(images):
        for _ in range(int(rng.integers(0, 4))):
            x, y, w, h = (float(v) for v in rng.uniform([0, 0, 5, 5], [80, 80, 20, 20]))
            cat = int(rng.integers(0, 2))
            gt["annotations"].append({"id": len(gt["annotations"]) + 1, "image_id": 10 + i, "category_id": cat,
                                      "bbox": [x, y, w, h], "area": w * h, "iscrowd": 0})
            shift = float(rng.uniform(0, 6))
            dets.append({"image_id": 10 + i, "category_id": cat, "bbox": [x + shift, y, w, h],
                         "score": float(rng.choice([0.9, 0.5, rng.uniform()]))})
        for _ in range(120 if i == 3 else int(rng.integers(0, 5))):
            dets.append({"image_id": 10 + i, "category_id": int(rng.integers(0, 2)),
                         "bbox": [float(v) for v in rng.uniform([0, 0, 5, 5], [80, 80, 20, 20])],
                         "score": float(rng.choice([0.5, rng.uniform()]))})
    return gt, dets


@pytest.mark.parametrize("seed", [0, 1])
def test_detection_resampling_scores_as_a_coco_evaluation_of_the_drawn_images(seed):
    gt, dets = _detections(seed)
    everything = resampled_coco(gt, dets, np.arange(12))
    assert len({a["id"] for a in everything[0]["annotations"]}) == len(gt["annotations"])  # unique ids
    assert coco_evaluate(*everything)["AP50"] == pytest.approx(coco_evaluate(gt, dets)["AP50"])
    fast = CocoMatches(gt, dets)
    rng = np.random.default_rng(seed)
    for idx in [np.arange(12), *rng.integers(0, 12, size=(4, 12))]:
        coco = coco_evaluate(*resampled_coco(gt, dets, idx))
        assert fast.score(idx, "AP50") == pytest.approx(100 * coco["AP50"])
        assert fast.score(idx, "AP") == pytest.approx(100 * coco["AP"])


def test_detection_difference_of_a_model_with_itself_is_zero_and_of_a_better_one_positive():
    gt, dets = _detections(0)
    assert detection_difference(gt, dets, dets, draws=50) == (0.0, 0.0, 0.0)
    perfect = [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 1.0}
               for a in gt["annotations"]]
    diff, lo, hi = detection_difference(gt, perfect, dets, draws=50)
    assert diff == pytest.approx(100 - 100 * coco_evaluate(gt, dets)["AP50"]) and 0 < lo <= diff <= hi
