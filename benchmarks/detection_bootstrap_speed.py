"""Detection bootstrap speed: one COCO evaluation per drawn image set vs COCO's matching done once and re-accumulated
per draw (sarhub.metrics.bootstrap.CocoMatches), side by side on the same draws, with the largest AP difference.

    python benchmarks/detection_bootstrap_speed.py [--detections cells/X/ssdd-det/seed0/detections.json] [--draws 20]

Without --detections, a synthetic set of SSDD's test size stands in: 232 images, 0-5 ships each, 100 detections per
image (FCOS keeps 100), one class.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass

import numpy as np

from sarhub.cli import parse_config, run_main
from sarhub.config import option
from sarhub.metrics.bootstrap import CocoMatches, resampled_coco
from sarhub.metrics.detection import coco_evaluate


@dataclass
class BootstrapSpeedConfig:
    """The benchmark's options."""

    detections: str | None = option(None, "a benchmark cell's detections.json (default: a synthetic SSDD-sized set)")
    draws: int = option(20, "bootstrap draws timed per method", bounds=(1, None))


def synthetic(images: int = 232, per_image: int = 100) -> tuple[dict, list[dict]]:
    rng = np.random.default_rng(0)
    gt = {"images": [{"id": i + 1, "width": 416, "height": 256} for i in range(images)],
          "categories": [{"id": 0, "name": "ship"}], "annotations": []}
    dets = []
    for i in range(images):
        ships = rng.uniform([0, 0, 8, 8], [380, 220, 40, 40], size=(int(rng.integers(0, 6)), 4))
        for box in ships:
            gt["annotations"].append({"id": len(gt["annotations"]) + 1, "image_id": i + 1, "category_id": 0,
                                      "bbox": box.tolist(), "area": float(box[2] * box[3]), "iscrowd": 0})
        noise = rng.uniform([0, 0, 8, 8], [380, 220, 40, 40], size=(per_image - len(ships), 4))
        boxes = np.concatenate([ships + rng.normal(0, 3, ships.shape) * [1, 1, 0, 0], noise])
        scores = np.concatenate([rng.uniform(0.3, 1.0, len(ships)), rng.uniform(0.0, 0.6, len(noise))])
        dets += [{"image_id": i + 1, "category_id": 0, "bbox": b.tolist(), "score": float(s)}
                 for b, s in zip(boxes, scores)]
    return gt, dets


def main() -> None:
    args = parse_config(BootstrapSpeedConfig, None, __doc__.splitlines()[0])
    if args.detections:
        data = json.loads(open(args.detections).read())
        gt, dets = data["ground_truth"], data["detections"]
    else:
        gt, dets = synthetic()
    draws = np.random.default_rng(0).integers(0, len(gt["images"]), size=(args.draws, len(gt["images"])))
    start = time.perf_counter()
    coco = [100 * coco_evaluate(*resampled_coco(gt, dets, idx))["AP50"] for idx in draws]
    per_coco = (time.perf_counter() - start) / args.draws
    start = time.perf_counter()
    matches = CocoMatches(gt, dets)
    build = time.perf_counter() - start
    start = time.perf_counter()
    fast = [matches.score(idx, "AP50") for idx in draws]
    per_fast = (time.perf_counter() - start) / args.draws
    print(f"{len(gt['images'])} images, {len(dets)} detections, {args.draws} draws of AP50")
    print("| method | ms per draw | once (ms) | ratio | max AP50 difference |")
    print("|---|---|---|---|---|")
    print(f"| COCO evaluation of each drawn set (before) | {1000 * per_coco:.1f} | — | 1.0× | — |")
    print(f"| matching once, re-accumulated per draw | {1000 * per_fast:.1f} | {1000 * build:.0f} | "
          f"{per_coco / per_fast:.1f}× | {max(abs(a - b) for a, b in zip(coco, fast)):.1e} |")


if __name__ == "__main__":
    run_main(main)
