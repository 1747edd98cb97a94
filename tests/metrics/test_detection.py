"""COCO box AP through faster-coco-eval: identical to pycocotools, labels from 0 as category ids, no-detection
case."""
import copy
import math

import numpy as np
import pytest
import torch

from sarhub.metrics.detection import METRIC_NAMES, coco_evaluate, detections_to_coco, select_images

pytest.importorskip("faster_coco_eval", reason="detection extra not installed (pip install -e .[detection])")


def random_gt_and_detections(seed=0, n_images=25, cat_ids=(1, 2)):
    """Ships of all COCO size ranges; detections = jittered ground truth, misses and false alarms, random scores."""
    rng = np.random.default_rng(seed)
    images = [{"id": i + 1, "width": 512, "height": 512, "file_name": f"{i}.png"} for i in range(n_images)]
    anns, dets = [], []
    for img in images:
        for _ in range(rng.integers(0, 6)):
            w, h = np.exp(rng.uniform(np.log(4), np.log(200), 2))
            x, y = rng.uniform(0, 512 - w), rng.uniform(0, 512 - h)
            cat = cat_ids[rng.integers(len(cat_ids))]
            anns.append({"id": len(anns) + 1, "image_id": img["id"], "category_id": cat, "bbox": [x, y, w, h],
                         "area": w * h * rng.uniform(0.5, 1.0), "iscrowd": int(rng.random() < 0.05)})
            if rng.random() < 0.8:
                jitter = rng.normal(0, 0.08, 4) * [w, h, w, h]
                dets.append({"image_id": img["id"], "category_id": cat, "score": float(rng.random()),
                             "bbox": [x + jitter[0], y + jitter[1], max(1.0, w + jitter[2]), max(1.0, h + jitter[3])]})
        for _ in range(rng.integers(0, 4)):
            w, h = rng.uniform(5, 80, 2)
            dets.append({"image_id": img["id"], "category_id": cat_ids[rng.integers(len(cat_ids))],
                         "score": float(rng.random() * 0.7), "bbox": [*rng.uniform(0, 400, 2), w, h]})
    gt = {"images": images, "annotations": anns,
          "categories": [{"id": c, "name": f"c{c}"} for c in cat_ids]}
    return gt, dets


def pycocotools_stats(gt, dets):
    pytest.importorskip("pycocotools", reason="detection extra not installed (pip install -e .[detection])")
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    coco = COCO()
    coco.dataset = copy.deepcopy(gt)
    coco.createIndex()
    evaluator = COCOeval(coco, coco.loadRes(copy.deepcopy(dets)), "bbox")
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    return evaluator.stats[:6]


@pytest.mark.parametrize("seed", [0, 1])
def test_agrees_with_pycocotools(seed):
    gt, dets = random_gt_and_detections(seed)
    ours = coco_evaluate(gt, dets)
    ref = pycocotools_stats(gt, dets)
    assert 0.2 < ours["AP50"] < 0.95  # a non-trivial case
    for name, value in zip(METRIC_NAMES, ref):
        assert ours[name] == pytest.approx(value, abs=1e-6), name


def test_labels_from_0_give_the_numbers_of_any_other_integer_ids():
    base = coco_evaluate(*random_gt_and_detections(3, cat_ids=(1, 2)))
    for ids in [(0, 1), (7, 3)]:
        gt, dets = random_gt_and_detections(3, cat_ids=ids)
        assert coco_evaluate(gt, dets) == pytest.approx(base, nan_ok=True)


def test_inputs_are_not_modified():
    gt, dets = random_gt_and_detections(4, cat_ids=(0, 1))
    gt0, dets0 = copy.deepcopy(gt), copy.deepcopy(dets)
    coco_evaluate(gt, dets)
    assert gt == gt0 and dets == dets0


def test_no_detections_scores_zero_and_perfect_scores_one():
    gt, _ = random_gt_and_detections(5)
    empty = coco_evaluate(gt, [])
    assert empty["AP"] == 0.0 and empty["AP50"] == 0.0
    perfect = [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 1.0}
               for a in gt["annotations"] if not a["iscrowd"]]
    assert coco_evaluate(gt, perfect)["AP"] == pytest.approx(1.0)


def test_undefined_size_range_is_nan():
    gt = {"images": [{"id": 1, "width": 64, "height": 64}], "categories": [{"id": 1, "name": "ship"}],
          "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [2, 2, 10, 10], "area": 100,
                           "iscrowd": 0}]}
    result = coco_evaluate(gt, [{"image_id": 1, "category_id": 1, "bbox": [2, 2, 10, 10], "score": 0.9}])
    assert result["AP_S"] == pytest.approx(1.0) and math.isnan(result["AP_L"])


def test_unknown_detection_category_is_an_error():
    gt, dets = random_gt_and_detections(6)
    dets[0]["category_id"] = 99
    with pytest.raises(ValueError, match="99"):
        coco_evaluate(gt, dets)


def test_model_outputs_to_coco_results():
    outputs = [{"boxes": torch.tensor([[10.0, 20.0, 40.0, 30.0]]), "scores": torch.tensor([0.7]),
                "labels": torch.tensor([2])},
               {"boxes": torch.zeros(0, 4), "scores": torch.zeros(0), "labels": torch.zeros(0, dtype=torch.long)}]
    results = detections_to_coco(outputs, [5, 6])
    assert results == [{"image_id": 5, "category_id": 2, "bbox": [10.0, 20.0, 30.0, 10.0],
                        "score": pytest.approx(0.7)}]
    assert type(results[0]["category_id"]) is int  # the label itself, as in to_coco_gt


def test_a_subset_is_scored_on_its_own_images():
    gt, dets = random_gt_and_detections(seed=3, cat_ids=(0,))
    keep = [im["id"] for im in gt["images"][:10]]
    sub_gt, sub_dets = select_images(gt, dets, keep)
    assert [im["id"] for im in sub_gt["images"]] == keep and {a["image_id"] for a in sub_gt["annotations"]} <= set(keep)
    assert {d["image_id"] for d in sub_dets} <= set(keep) and len(gt["images"]) == 25  # the inputs are untouched
    alone = {**gt, "images": gt["images"][:10], "annotations": [a for a in gt["annotations"] if a["image_id"] in keep]}
    assert coco_evaluate(sub_gt, sub_dets) == pytest.approx(
        coco_evaluate(alone, [d for d in dets if d["image_id"] in keep]), nan_ok=True)
    perfect = [{"image_id": a["image_id"], "category_id": 0, "bbox": a["bbox"], "score": 1.0}
               for a in sub_gt["annotations"] if not a["iscrowd"]]
    assert coco_evaluate(sub_gt, perfect)["AP50"] == pytest.approx(1.0)
