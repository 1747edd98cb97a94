"""A tiny data set in SSDD's official COCO layout, written by the tests: 3-channel near-grey JPEGs in JPEGImages/,
annotations/train.json and test.json with ship category id 0 and polygon segmentations, and the inshore/offshore
lists of test file names."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

H, W = 48, 64


def _ship_polygons(rng: np.random.Generator, count: int) -> list[list[float]]:
    """Axis-aligned ship rectangles with integer corners (each covers exactly its w×h pixels), one per band of rows
    so that they never overlap."""
    polys = []
    band = H // count
    for k in range(count):
        w, h = int(rng.integers(8, 16)), int(rng.integers(4, 8))
        x, y = int(rng.integers(0, W - w)), k * band + int(rng.integers(0, band - h))
        polys.append([x, y, x + w, y, x + w, y + h, x, y + h])
    return polys


def write_ssdd_like(root: Path, n_train: int = 6, n_test: int = 4, seed: int = 0) -> Path:
    """Write the set under `root`; the first half of the test images is "inshore", the rest "offshore"."""
    rng = np.random.default_rng(seed)
    (root / "JPEGImages").mkdir(parents=True, exist_ok=True)
    (root / "annotations").mkdir(exist_ok=True)
    names = {"train": [], "test": []}
    ann_id = 1
    for split, count in (("train", n_train), ("test", n_test)):
        images, annotations = [], []
        for _ in range(count):
            image_id = len(names["train"]) + len(names["test"]) + 1
            name = f"{image_id:06d}.jpg"
            names[split].append(name)
            grey = rng.normal(40, 8, (H, W)).clip(0, 255)
            for poly in _ship_polygons(rng, int(rng.integers(1, 3))):
                x0, y0, x1, y1 = poly[0], poly[1], poly[4], poly[5]
                grey[y0:y1, x0:x1] = 230
                annotations.append({"area": float((x1 - x0) * (y1 - y0)), "iscrowd": 0, "image_id": image_id,
                                    "bbox": [x0, y0, x1 - x0, y1 - y0], "category_id": 0, "id": ann_id, "ignore": 0,
                                    "segmentation": [[float(v) for v in poly]]})
                ann_id += 1
            rgb = np.stack([grey] * 3, -1).astype(np.uint8)
            rgb[0, 0, 0] = min(255, rgb[0, 0, 0] + 20)  # like a few SSDD files: not exactly R = G = B
            Image.fromarray(rgb).save(root / "JPEGImages" / name, quality=95)
            images.append({"file_name": name, "height": H, "width": W, "id": image_id})
        (root / "annotations" / f"{split}.json").write_text(json.dumps(
            {"images": images, "type": "instances", "annotations": annotations,
             "categories": [{"supercategory": "none", "id": 0, "name": "ship"}]}))
    half = len(names["test"]) // 2
    (root / "test_inshore.txt").write_text("\n".join(names["test"][:half]) + "\n")
    (root / "test_offshore.txt").write_text("\n".join(names["test"][half:]) + "\n")
    return root
