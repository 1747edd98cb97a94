"""COCO box AP for the detection table (AP, AP50, AP75, AP_S/M/L, paper Table 7) through faster-coco-eval.

faster-coco-eval gives pycocotools' numbers (a test checks agreement to 1e-6) several times faster. Ground truth
and detections carry the datasets' contiguous labels 0..K-1 as category ids (`sarhub.data.detection.to_coco_gt`,
`detections_to_coco`): the file's own ids, strings included, never reach the evaluator, whose C++ core takes integers
only. An empty detection list scores 0 (pycocotools' `loadRes` would crash on it).
"""
from __future__ import annotations

import copy
import logging
from typing import Any, Collection, Sequence

import torch

log = logging.getLogger(__name__)

METRIC_NAMES = ("AP", "AP50", "AP75", "AP_S", "AP_M", "AP_L")


def detections_to_coco(outputs: Sequence[dict[str, torch.Tensor]], image_ids: Sequence[int]) -> list[dict[str, Any]]:
    """Per-image model outputs (boxes xyxy, scores, labels 0..K-1) to COCO result dicts (bbox xywh, the label as
    category id, as in `to_coco_gt`)."""
    results = []
    for output, image_id in zip(outputs, image_ids, strict=True):
        boxes = output["boxes"].detach().float().cpu()
        xywh = torch.cat([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], dim=1).tolist()
        for box, score, label in zip(xywh, output["scores"].tolist(), output["labels"].tolist()):
            results.append({"image_id": int(image_id), "category_id": int(label), "bbox": box, "score": float(score)})
    return results


def coco_evaluate(gt: dict[str, Any], detections: list[dict[str, Any]]) -> dict[str, float]:
    """COCO bbox evaluation: AP (0.5:0.95), AP50, AP75, AP_S, AP_M, AP_L as fractions in [0, 1].

    Category ids are integers (labels); a detection of a category absent from `gt` is a ValueError. A metric undefined
    for this ground truth (e.g. no large ships: pycocotools reports -1) is returned as NaN.
    """
    from faster_coco_eval import COCO, COCOeval_faster

    unknown = {d["category_id"] for d in detections} - {c["id"] for c in gt["categories"]}
    if unknown:
        raise ValueError(f"detections use category ids {sorted(unknown)} absent from the ground truth")
    coco_gt = COCO(copy.deepcopy(gt))  # the evaluator writes into the dicts it is given; the caller's stay intact
    coco_dt = coco_gt.loadRes(copy.deepcopy(detections))
    evaluator = COCOeval_faster(coco_gt, coco_dt, iouType="bbox", print_function=log.debug)
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    stats = [float(s) for s in evaluator.stats[:6]]
    return {name: (value if value >= 0 else float("nan")) for name, value in zip(METRIC_NAMES, stats)}


def select_images(gt: dict[str, Any], detections: list[dict[str, Any]], image_ids: Collection[int]
                  ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Ground truth and detections restricted to `image_ids` (a subset such as SSDD's inshore test images), so a
    subset is scored by the same COCO evaluation over its own images only."""
    keep = set(image_ids)
    gt = {**gt, "images": [im for im in gt["images"] if im["id"] in keep],
          "annotations": [a for a in gt["annotations"] if a["image_id"] in keep]}
    return gt, [d for d in detections if d["image_id"] in keep]
