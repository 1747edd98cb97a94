"""Semantic-segmentation masks from COCO instance annotations: SSDD's official ship polygons (and RLE, for other
COCO sets) rasterised into class masks, so a COCO detection set doubles as a one-target-against-background benchmark
with the shape of the paper's Table 8. The file is parsed and validated by the detection reader
(`sarhub.data.detection.read_coco`: images, categories, ids); this module validates and rasterises "segmentation".

Pixel convention of polygons: COCO coordinates, pixel (column c, row r) spans [c, c+1) × [r, r+1), and a pixel is
inside when its centre (c + 0.5, r + 0.5) lies inside the polygon (GDAL's "area" rule, `sarhub.data.rasterize`,
which also says how a centre exactly on an edge counts). A square with integer corners (x0, y0)-(x1, y1) thus gives
exactly the pixels x0..x1-1 × y0..y1-1, and whatever leaves the image is clipped. pycocotools' polygon rasteriser
(5× super-sampled outlines) is not this rule: on SSDD it disagrees on about 0.6 % of the ship pixels, all along
outlines. The polygons of one annotation are united (COCO's semantics: a polygon inside another adds nothing, it
cuts no hole); a mask with holes is written as RLE, which is decoded exactly (pycocotools, column-major runs,
compressed or not).

Masks are int64 H×W: 0 background, 1..K the categories in the file's order (the detection reader's label + 1: its
labels 0..K-1 have no background class), 255 ignored: crowd regions (iscrowd=1), which COCO evaluation ignores too,
unless a non-crowd annotation covers them. Overlapping annotations: the later one in the file wins.
"""
from __future__ import annotations

import copy
import math
import random
from pathlib import Path
from typing import Any, Collection, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from sarhub.data.cache import DEFAULT_CACHE_BYTES, DecodedCache
from sarhub.data.detection import ImageRecord, decode_grey, read_coco, record_image
from sarhub.data.rasterize import rasterize
from sarhub.data.segmentation_transforms import Transform
from sarhub.errors import DataError
from sarhub.metrics.segmentation import IGNORE_INDEX


def polygon_mask(polygons: Sequence[Sequence[float]], height: int, width: int) -> np.ndarray:
    """Boolean H×W union of COCO polygons ([x1, y1, x2, y2, ...] each), pixel-centre rule (module docstring)."""
    parts = [[np.asarray(poly, dtype=np.float64).reshape(-1, 2)] for poly in polygons]
    return rasterize(parts, (height, width)).astype(bool)


def rle_mask(rle: dict[str, Any], height: int, width: int) -> np.ndarray:
    """Boolean H×W mask of a COCO RLE ({"size": [h, w], "counts": str or list of run lengths})."""
    from pycocotools import mask as mask_utils

    if isinstance(rle["counts"], list):
        rle = mask_utils.frPyObjects(rle, height, width)
    return mask_utils.decode(rle).astype(bool)


def annotation_mask(segmentation: list | dict, height: int, width: int) -> np.ndarray:
    """Boolean H×W mask of one annotation's "segmentation" (polygon list or RLE), already validated."""
    if isinstance(segmentation, dict):
        return rle_mask(segmentation, height, width)
    return polygon_mask(segmentation, height, width)


def check_segmentation(segmentation: Any, rec: ImageRecord, ann_id: str) -> None:
    """Raise a DataError naming the file and the annotation when its segmentation cannot be rasterised."""
    where = f"annotation {ann_id} (image {rec.path.name})"
    if isinstance(segmentation, dict):
        size, counts = segmentation.get("size"), segmentation.get("counts")
        if not isinstance(counts, (str, list)) or (isinstance(counts, list)
                                                            and not all(isinstance(c, int) for c in counts)):
            raise DataError(rec.source, f"{where}: RLE needs 'counts' (a string or a list of integer run lengths)")
        if not isinstance(size, list) or [int(v) for v in size] != [rec.height, rec.width]:
            raise DataError(rec.source, f"{where}: RLE size {size} is not the image's [height, width] = "
                                        f"[{rec.height}, {rec.width}]")
        if isinstance(counts, list) and sum(counts) != rec.height * rec.width:
            raise DataError(rec.source, f"{where}: RLE run lengths add up to {sum(counts)} pixels, the image has "
                                        f"{rec.height * rec.width}")
        return
    if not isinstance(segmentation, list) or not segmentation:
        raise DataError(rec.source, f"{where}: no segmentation (expected a list of polygons or an RLE dict)")
    for k, poly in enumerate(segmentation):
        if not isinstance(poly, list) or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in poly):
            raise DataError(rec.source, f"{where}: polygon {k} is not a flat list of finite numbers [x1, y1, ...]")
        if len(poly) < 6 or len(poly) % 2:
            raise DataError(rec.source, f"{where}: polygon {k} has {len(poly)} coordinates (needs x, y pairs of at "
                                        f"least 3 points)")
        xy = np.asarray(poly, dtype=np.float64).reshape(-1, 2)
        area = 0.5 * abs(np.dot(xy[:, 0], np.roll(xy[:, 1], 1)) - np.dot(xy[:, 1], np.roll(xy[:, 0], 1)))
        if area == 0:
            raise DataError(rec.source, f"{where}: polygon {k} is degenerate (zero area)")


def class_mask(rec: ImageRecord) -> np.ndarray:
    """int64 H×W class mask of one image's annotations (module docstring: labels, crowd = 255, later wins)."""
    mask = np.zeros((rec.height, rec.width), dtype=np.int64)
    crowd = np.zeros((rec.height, rec.width), dtype=bool)
    for segmentation, label, is_crowd in zip(rec.segmentations, rec.labels.tolist(), rec.iscrowd.tolist()):
        pixels = annotation_mask(segmentation, rec.height, rec.width)
        if is_crowd:
            crowd |= pixels
        else:
            mask[pixels] = label + 1  # mask class 0 is the background
    mask[crowd & (mask == 0)] = IGNORE_INDEX
    return mask


def compact_mask(mask: np.ndarray) -> np.ndarray:
    """A class mask in uint8 when its values allow (0..254 and 255 = ignored: fewer than 255 categories), else as is."""
    return mask.astype(np.uint8) if mask.size and 0 <= mask.min() and mask.max() <= 255 else mask


class CocoMasks(Dataset):
    """A COCO split as semantic segmentation: items {"image": float32 1×H×W in [0, 1] (grey, as the detection
    reader reads it: R=G=B files give their one channel), "mask": int64 H×W, "path": str, "image_id": int}.

    Every segmentation is validated when the dataset is built (a bad polygon is one DataError naming the file and
    the annotation id); masks are rasterised when an item is first read. The decoded image and its mask are kept
    up to `cache_bytes` per process (`sarhub.data.cache`; 0: decode and rasterise on every read), shared with the
    dataset's `subset`s. SSDD: `CocoMasks("ssdd/annotations/train.json", "ssdd/JPEGImages")`.
    """

    def __init__(self, ann_file: str | Path, image_dir: str | Path, transform: Transform | None = None,
                 cache_bytes: int = DEFAULT_CACHE_BYTES):
        split = read_coco(ann_file, image_dir)
        self.ann_file, self.category_ids, self.records = split.ann_file, split.category_ids, split.records
        self.classes = ["background", *split.classes]
        self.transform = transform
        self.cache = DecodedCache(cache_bytes)
        for rec in self.records:
            for segmentation, ann_id in zip(rec.segmentations, rec.ann_ids):
                check_segmentation(segmentation, rec, ann_id)

    @property
    def num_classes(self) -> int:
        """Classes of the mask, background included."""
        return len(self.classes)

    def subset(self, image_ids: Collection[int], transform: Transform | None = None) -> CocoMasks:
        """The same split restricted to `image_ids` (file order kept), with its own transform."""
        keep = set(image_ids)
        part = copy.copy(self)
        part.records = [rec for rec in self.records if rec.image_id in keep]
        part.transform = transform
        return part

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> dict[str, Any]:
        rec = self.records[index]
        array, mask = self.cache.get(rec.path, lambda: (decode_grey(rec.path), compact_mask(class_mask(rec))))
        image, mask = record_image(rec, array), torch.from_numpy(mask.astype(np.int64))
        if self.transform is not None:
            image, mask = self.transform(image, mask)
        return {"image": image, "mask": mask, "path": str(rec.path), "image_id": rec.image_id}


def validation_split(image_ids: Sequence[int], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """(train ids, validation ids): a seeded random `fraction` of the training images held out for model selection.

    The same ids, fraction and seed always give the same split (no file to keep beside read-only data).
    """
    if not 0 < fraction < 1:
        raise ValueError(f"validation fraction must lie in (0, 1), got {fraction}")
    order = sorted(image_ids)
    random.Random(seed).shuffle(order)
    n_val = max(1, int(round(fraction * len(order))))
    if n_val >= len(order):
        raise ValueError(f"{len(order)} image(s) are too few to hold out {fraction:.0%} for validation")
    return sorted(order[n_val:]), sorted(order[:n_val])


def letterbox_size(height: int, width: int, size: int) -> tuple[int, int]:
    """(h, w) after resizing so that the long side is `size` (aspect ratio kept)."""
    scale = size / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def letterbox_image(image: torch.Tensor, size: int) -> torch.Tensor:
    """C×H×W image resized (bilinear, antialiased) to long side `size` and zero-padded bottom/right to size×size."""
    h, w = letterbox_size(*image.shape[-2:], size)
    resized = F.interpolate(image[None], size=(h, w), mode="bilinear", align_corners=False, antialias=True)[0]
    return F.pad(resized, (0, size - w, 0, size - h), value=0.0)


class Letterbox:
    """Joint (image, mask) transform to a fixed size×size input: the image as `letterbox_image`, the mask resized
    by nearest neighbour and padded with 255 (ignored), so batches stack whatever the image's shape."""

    def __init__(self, size: int):
        self.size = size

    def __call__(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h, w = letterbox_size(*mask.shape, self.size)
        resized = F.interpolate(mask[None, None].float(), size=(h, w), mode="nearest")[0, 0].long()
        padded = F.pad(resized, (0, self.size - w, 0, self.size - h), value=IGNORE_INDEX)
        return letterbox_image(image, self.size), padded
