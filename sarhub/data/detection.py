"""Ship-detection datasets as the authors ship them: COCO json (SSDD, HRSID, LS-SSDD) and PASCAL-VOC xml (SSDD's VOC
release, SAR-Ship-Dataset), read into one item layout that torchvision's detectors train on directly.

Items: {"image": float32 1×H×W in [0, 1] (grey; R=G=B files reduced to one channel), "boxes": float32 N×4 xyxy in
pixels, "labels": int64 N in 0..K-1, "image_id": int, "path": str}. Images without ships are kept (they teach the
detector the sea clutter). Category ids are mapped once, here: a COCO file's ids (ints from 0 or 1, or strings) become
the contiguous labels 0..K-1 that torchvision's FCOS trains on, in the order of the file's "categories" list, and the
library uses nothing else; `dataset.category_ids[label]` is the file's own id again (VOC: the class name).

Annotations are validated once, up front: a degenerate box (w or h ≤ 0) or one leaving the image raises a
DataError naming the file and the annotation, or is dropped with one warning per dataset (`drop_bad_boxes=True`).
`to_coco_gt(dataset)` rebuilds the ground truth as a COCO dict with the labels as category ids (for VOC sets too)
so one evaluator serves both.
`read_coco` is the COCO parsing and validation alone (images, categories, annotation fields), shared with the
segmentation masks of `sarhub.data.coco_masks`; `read_subset` reads an official subset list (SSDD's inshore and
offshore test images) against a split's file names.
"""
from __future__ import annotations

import json
import warnings
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset
from torchvision import tv_tensors
from torchvision.transforms.v2 import functional as TF

from sarhub.data.cache import DEFAULT_CACHE_BYTES, DecodedCache
from sarhub.data.imageio import IMAGE_EXTENSIONS, read_raster, to_unit_range
from sarhub.errors import DataError

Item = dict[str, Any]


@dataclass
class ImageRecord:
    """One image's annotations as read from disk (boxes xyxy; crowd regions kept for evaluation only)."""

    image_id: int
    path: Path
    source: Path  # the annotation file, named in errors
    width: int
    height: int
    boxes: np.ndarray  # float32 N×4 xyxy
    labels: np.ndarray  # int64 N, 0..K-1
    areas: np.ndarray  # float32 N: the file's "area" (HRSID: mask area) or the box area
    iscrowd: np.ndarray  # bool N
    ann_ids: list = field(default_factory=list)
    segmentations: list = field(default_factory=list)  # COCO: each annotation's raw "segmentation" (None if absent)


@dataclass
class CocoSplit:
    """A parsed COCO file: the file's category ids and class names (both indexed by label) and one record per image."""

    ann_file: Path
    category_ids: list[Any]
    classes: list[str]
    records: list[ImageRecord]


def decode_grey(path: str | Path) -> np.ndarray:
    """An image as stored, reduced to grey H×W: R=G=B files give their one channel (uint8/uint16 kept), other colour
    is averaged (float32 in [0, 1]). `grey_tensor` scales it; the readers cache this compact form."""
    array = read_raster(path)
    if array.ndim == 3:
        if array.shape[2] > 4:
            raise DataError(path, f"expected a grey or RGB image, found {array.shape[2]} channels")
        if array.shape[2] in (2, 4):  # grey + alpha, RGBA: drop alpha
            array = array[..., :-1]
        if (array == array[..., :1]).all():
            array = array[..., 0]
        else:
            array = to_unit_range(array, path).mean(axis=2)
    elif array.ndim != 2:
        raise DataError(path, f"expected an H×W or H×W×C image, found shape {array.shape}")
    return np.ascontiguousarray(array)


def grey_tensor(array: np.ndarray, path: str | Path) -> torch.Tensor:
    """float32 1×H×W in [0, 1] of a `decode_grey` array (a new tensor: the array is never shared)."""
    return torch.from_numpy(np.ascontiguousarray(to_unit_range(array, path)))[None]


def read_grey(path: str | Path) -> torch.Tensor:
    """Read an image as float32 1×H×W in [0, 1]; R=G=B files give their one channel, other colour is averaged."""
    return grey_tensor(decode_grey(path), path)


def record_image(rec: ImageRecord, array: np.ndarray) -> torch.Tensor:
    """A record's decoded image as `grey_tensor`, checked against the annotation's width and height."""
    if array.shape != (rec.height, rec.width):
        raise DataError(rec.path, f"image is {array.shape[-1]}×{array.shape[0]} (W×H) but the annotation says "
                                  f"{rec.width}×{rec.height}")
    return grey_tensor(array, rec.path)


def hflip(item: Item) -> Item:
    """Mirror an item left–right, boxes included (x ↦ W − x), by torchvision.transforms.v2 on tv_tensors."""
    image = tv_tensors.Image(item["image"])
    boxes = tv_tensors.BoundingBoxes(item["boxes"], format="XYXY", canvas_size=tuple(image.shape[-2:]))
    return {**item, "image": TF.horizontal_flip(image).as_subclass(torch.Tensor),
            "boxes": TF.horizontal_flip(boxes).as_subclass(torch.Tensor)}


class RandomHorizontalFlip:
    """Flip an item with probability `p` (torch's RNG, so the engine's per-epoch seeding makes it reproducible)."""

    def __init__(self, p: float = 0.5):
        self.p = p

    def __call__(self, item: Item) -> Item:
        return hflip(item) if torch.rand(()) < self.p else item


def collate(items: Sequence[Item]) -> tuple[list[torch.Tensor], list[dict[str, Any]]]:
    """Batch items for torchvision detectors: (images, targets), targets holding boxes, labels, image_id, path."""
    images = [item["image"] for item in items]
    targets = [{k: v for k, v in item.items() if k != "image"} for item in items]
    return images, targets


class DetectionDataset(Dataset):
    """Shared item building for the COCO and VOC readers."""

    records: list[ImageRecord]
    classes: list[str]  # indexed by label
    category_ids: list[Any]  # indexed by label: the annotation file's id of each class

    def __init__(self, transform: Callable[[Item], Item] | None, cache_bytes: int = DEFAULT_CACHE_BYTES):
        self.transform = transform
        self.cache = DecodedCache(cache_bytes)  # each image decoded once per process (sarhub.data.cache)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> Item:
        rec = self.records[index]
        (array,) = self.cache.get(rec.path, lambda: (decode_grey(rec.path),))
        keep = ~rec.iscrowd
        item = {
            "image": record_image(rec, array),
            "boxes": torch.from_numpy(rec.boxes[keep]).reshape(-1, 4),
            "labels": torch.from_numpy(rec.labels[keep]),
            "image_id": rec.image_id,
            "path": str(rec.path),
        }
        return self.transform(item) if self.transform is not None else item


def _check_boxes(records: list[ImageRecord], source: Path, drop_bad_boxes: bool) -> None:
    """Validate every box against its image; raise on the first bad one or drop them all with one warning."""
    dropped: list[str] = []
    for rec in records:
        if not len(rec.boxes):
            continue
        x1, y1, x2, y2 = rec.boxes.T
        degenerate = (x2 <= x1) | (y2 <= y1)
        outside = (x1 < 0) | (y1 < 0) | (x2 > rec.width) | (y2 > rec.height)
        bad = degenerate | outside | ~np.isfinite(rec.boxes).all(axis=1)
        if not bad.any():
            continue
        for i in np.flatnonzero(bad):
            what = "degenerate (w or h ≤ 0)" if degenerate[i] else f"outside the {rec.width}×{rec.height} image"
            box = rec.boxes[i].tolist()
            message = f"annotation {rec.ann_ids[i]} (image {rec.path.name}): box {box} (xyxy) is {what}"
            if not drop_bad_boxes:
                raise DataError(rec.source, message + " (pass drop_bad_boxes=True to drop such boxes)")
            dropped.append(f"{rec.source.name}: {message}")
        good = ~bad
        rec.boxes, rec.labels, rec.areas = rec.boxes[good], rec.labels[good], rec.areas[good]
        rec.iscrowd = rec.iscrowd[good]
        rec.ann_ids = [a for a, g in zip(rec.ann_ids, good) if g]
        rec.segmentations = [m for m, g in zip(rec.segmentations, good) if g]
    if dropped:
        warnings.warn(f"{source}: dropped {len(dropped)} bad box(es), e.g. {'; '.join(dropped[:3])}", stacklevel=3)


def read_coco(ann_file: str | Path, image_dir: str | Path) -> CocoSplit:
    """Parse and validate a COCO json whose `file_name`s lie in `image_dir`; bad input is a DataError naming the file.

    Category ids (ints from 0 or 1, or strings) become labels 0..K-1 in the order of "categories": the one mapping
    between a file's ids and the contiguous labels used everywhere inside (CocoSplit.category_ids[label] is the id
    again). Boxes are read as written; checking them against the image is the detection reader's business.
    """
    ann_file, image_dir = Path(ann_file), Path(image_dir)
    data = _read_json(ann_file)
    cats = data.get("categories")
    if not isinstance(cats, list) or not cats or not all(isinstance(c, dict) and "id" in c for c in cats):
        raise DataError(ann_file, "no 'categories' list with an 'id' per category")
    category_ids = [c["id"] for c in cats]
    if len(set(map(repr, category_ids))) != len(category_ids):
        raise DataError(ann_file, f"duplicate category ids {category_ids}")
    classes = [str(c.get("name", c["id"])) for c in cats]
    cat_to_label = {repr(cid): label for label, cid in enumerate(category_ids)}

    records = []
    by_id: dict[Any, ImageRecord] = {}
    for img in data["images"]:
        try:
            image_id, name = int(img["id"]), img["file_name"]
            width, height = int(img["width"]), int(img["height"])
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(ann_file, f"image entry {img!r:.120} lacks an integer id/width/height or "
                                      f"file_name ({type(exc).__name__}: {exc})") from None
        if image_id in by_id:
            raise DataError(ann_file, f"duplicate image id {image_id}")
        path = image_dir / name
        if not path.is_file():
            raise DataError(path, f"image listed in {ann_file.name} (id {image_id}) not found")
        rec = ImageRecord(image_id, path, ann_file, width, height, *_empty_arrays())
        by_id[image_id] = rec
        records.append(rec)

    rows: dict[int, list] = {}
    for ann in data["annotations"]:
        ann_id = ann.get("id", "?") if isinstance(ann, dict) else "?"
        try:
            rec = by_id[int(ann["image_id"])]
            x, y, w, h = (float(v) for v in ann["bbox"])
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(ann_file, f"annotation {ann_id}: missing/invalid image_id or bbox "
                                      f"({type(exc).__name__}: {exc})") from None
        label = cat_to_label.get(repr(ann.get("category_id")))
        if label is None:
            raise DataError(ann_file, f"annotation {ann_id}: unknown category id {ann.get('category_id')!r} "
                                      f"(categories: {category_ids})")
        try:
            area = float(ann["area"]) if ann.get("area") is not None else w * h
        except (TypeError, ValueError):
            raise DataError(ann_file, f"annotation {ann_id}: area {ann['area']!r} is not a number") from None
        rows.setdefault(rec.image_id, []).append(
            (x, y, x + w, y + h, label, area, bool(ann.get("iscrowd", 0)), f"id {ann_id}"))
        rec.segmentations.append(ann.get("segmentation"))
    for image_id, rec_rows in rows.items():
        _fill(by_id[image_id], rec_rows)
    return CocoSplit(ann_file, category_ids, classes, records)


def read_subset(list_file: str | Path, records: Sequence[ImageRecord]) -> list[ImageRecord]:
    """The records named in a subset list (one image file name per line, e.g. SSDD's test_inshore.txt).

    Every listed name must be an image of the split: a list for another split is an error, not an empty subset.
    """
    list_file = Path(list_file)
    if not list_file.is_file():
        raise DataError(list_file, "subset list not found")
    names = [line.strip() for line in list_file.read_text().splitlines() if line.strip()]
    by_name = {rec.path.name: rec for rec in records}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise DataError(list_file, f"{len(unknown)} listed image(s) are not in the split, e.g. {unknown[0]!r}")
    if not names:
        raise DataError(list_file, "subset list is empty")
    return [by_name[n] for n in dict.fromkeys(names)]


def subset_groups(records: Sequence[ImageRecord], lists: dict[str, str | Path]) -> dict[str, list[ImageRecord]]:
    """{"all": every record, name: the records of each subset list} — the rows a test script reports."""
    return {"all": list(records), **{name: read_subset(path, records) for name, path in lists.items()}}


class CocoDetection(DetectionDataset):
    """A COCO-json detection split: `ann_file` (one json per split) and `image_dir` holding its `file_name`s.

    HRSID: `CocoDetection("HRSID/annotations/train2017.json", "HRSID/images")`; SSDD / LS-SSDD the same way.
    Decoded images are kept up to `cache_bytes` per process (`sarhub.data.cache`; 0: decode on every read).
    """

    def __init__(self, ann_file: str | Path, image_dir: str | Path, transform: Callable[[Item], Item] | None = None,
                 drop_bad_boxes: bool = False, cache_bytes: int = DEFAULT_CACHE_BYTES):
        super().__init__(transform, cache_bytes)
        self.ann_file = Path(ann_file)
        self.image_dir = Path(image_dir)
        split = read_coco(self.ann_file, self.image_dir)
        self.category_ids, self.classes, self.records = split.category_ids, split.classes, split.records
        _check_boxes(self.records, self.ann_file, drop_bad_boxes)


def voc_class_names(ann_dir: Path) -> list[str]:
    """The sorted, case-folded object names of every xml in the folder: one label map for all splits (a class
    spelled `Ship` in one file and `ship` in another is one class)."""
    names = set()
    for xml_path in sorted(ann_dir.glob("*.xml")):
        try:
            root = ET.parse(xml_path).getroot()
        except ET.ParseError as exc:
            raise DataError(xml_path, f"not valid XML ({exc})") from None
        names.update((obj.findtext("name") or "").strip().casefold() for obj in root.iter("object"))
    return sorted(names - {""})


class VOCDetection(DetectionDataset):
    """PASCAL-VOC xml per image: `ann_dir/<stem>.xml` and its image `image_dir/<stem>.<jpg|png|...>`.

    The image is found by the xml's stem (SAR-Ship-Dataset's `<filename>` tags do not match its files). `ids` (a
    list of stems or a VOC `ImageSets/Main/<split>.txt` file) selects a split; by default every xml is read.
    `classes` fixes the label order (default: the sorted names of every xml in `ann_dir`, whatever the split, compared
    case-insensitively). Coordinates are used as written (the
    MMDetection v2 convention, no 1-pixel shift); `difficult` boxes are kept unless `keep_difficult=False`.
    Decoded images are cached as in `CocoDetection`.
    """

    def __init__(self, ann_dir: str | Path, image_dir: str | Path, ids: Sequence[str] | str | Path | None = None,
                 classes: Sequence[str] | None = None, transform: Callable[[Item], Item] | None = None,
                 drop_bad_boxes: bool = False, keep_difficult: bool = True, cache_bytes: int = DEFAULT_CACHE_BYTES):
        super().__init__(transform, cache_bytes)
        self.ann_dir, self.image_dir = Path(ann_dir), Path(image_dir)
        if not self.ann_dir.is_dir():
            raise DataError(self.ann_dir, "annotation folder not found")
        if ids is None:
            stems = sorted(p.stem for p in self.ann_dir.glob("*.xml"))
            if not stems:
                raise DataError(self.ann_dir, "no .xml annotation files")
        elif isinstance(ids, (str, Path)):
            split = Path(ids)
            if not split.is_file():
                raise DataError(split, "split file not found")
            stems = [line.split()[0] for line in split.read_text().splitlines() if line.strip()]
        else:
            stems = list(ids)
        parsed = [self._parse(stem, keep_difficult) for stem in stems]
        names = sorted({name for _, objects in parsed for name, *_ in objects})
        self.classes = [c.casefold() for c in classes] if classes is not None else voc_class_names(self.ann_dir)
        unknown = sorted(set(names) - set(self.classes))
        if unknown:
            raise DataError(self.ann_dir, f"object names {unknown} are not among the classes {self.classes}")
        self.category_ids = list(self.classes)  # an xml names its classes: the name is the file's id
        label_of = {name: label for label, name in enumerate(self.classes)}
        self.records = []
        for index, (rec, objects) in enumerate(parsed):
            rec.image_id = index
            _fill(rec, [(*box, label_of[name], (box[2] - box[0]) * (box[3] - box[1]), False, ann_id)
                        for name, box, ann_id in objects])
            self.records.append(rec)
        _check_boxes(self.records, self.ann_dir, drop_bad_boxes)

    def _parse(self, stem: str, keep_difficult: bool) -> tuple[ImageRecord, list]:
        xml_path = self.ann_dir / f"{stem}.xml"
        if not xml_path.is_file():
            raise DataError(xml_path, "annotation file not found")
        try:
            root = ET.parse(xml_path).getroot()
        except ET.ParseError as exc:
            raise DataError(xml_path, f"not valid XML ({exc})") from None
        extensions = (*IMAGE_EXTENSIONS, *(e.upper() for e in IMAGE_EXTENSIONS))
        path = next((self.image_dir / f"{stem}{ext}" for ext in extensions
                     if (self.image_dir / f"{stem}{ext}").is_file()), None)
        if path is None:
            raise DataError(self.image_dir / f"{stem}.jpg", f"image for {xml_path.name} not found (any extension)")
        width, height = _int(root.findtext("size/width")), _int(root.findtext("size/height"))
        if not width or not height:  # some VOC writers leave <size> empty: read the header
            from PIL import Image

            with Image.open(path) as im:
                width, height = im.size
        objects = []
        for k, obj in enumerate(root.iter("object")):
            tags = {child.tag.lower(): child for child in obj}
            if not keep_difficult and (_int(tags["difficult"].text) if "difficult" in tags else 0):
                continue
            name = (tags["name"].text or "").strip() if "name" in tags else ""
            bnd = tags.get("bndbox")
            try:
                box = [float(bnd.findtext(t)) for t in ("xmin", "ymin", "xmax", "ymax")]
            except (AttributeError, TypeError, ValueError):
                raise DataError(xml_path, f"object {k} ({name or 'unnamed'}): missing or non-numeric bndbox") from None
            if not name:
                raise DataError(xml_path, f"object {k}: missing <name>")
            objects.append((name.casefold(), box, f"<object> {k}"))
        return ImageRecord(-1, path, xml_path, width, height, *_empty_arrays()), objects


def to_coco_gt(dataset: DetectionDataset) -> dict[str, Any]:
    """The dataset's ground truth as a COCO dict for evaluation: labels as category ids (the ids of the detections
    `detections_to_coco` makes), the file's areas, crowd flags kept."""
    images, annotations = [], []
    for rec in dataset.records:
        images.append({"id": rec.image_id, "file_name": rec.path.name, "width": rec.width, "height": rec.height})
        for box, label, area, crowd in zip(rec.boxes.tolist(), rec.labels.tolist(), rec.areas.tolist(), rec.iscrowd):
            x1, y1, x2, y2 = box
            annotations.append({"id": len(annotations) + 1, "image_id": rec.image_id,
                                "category_id": label, "bbox": [x1, y1, x2 - x1, y2 - y1],
                                "area": area, "iscrowd": int(crowd)})
    categories = [{"id": label, "name": name} for label, name in enumerate(dataset.classes)]
    return {"images": images, "annotations": annotations, "categories": categories}


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise DataError(path, "annotation file not found")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(path, f"not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), list) for k in ("images", "annotations")):
        raise DataError(path, "not a COCO detection file (needs 'images', 'annotations' and 'categories' lists)")
    return data


def _empty_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return (np.zeros((0, 4), np.float32), np.zeros(0, np.int64), np.zeros(0, np.float32), np.zeros(0, bool))


def _fill(rec: ImageRecord, rows: list[tuple]) -> None:
    """Store (x1, y1, x2, y2, label, area, iscrowd, ann_id) rows in a record."""
    if not rows:
        return
    cols = list(zip(*rows))
    rec.boxes = np.array(cols[:4], np.float32).T.copy()
    rec.labels = np.array(cols[4], np.int64)
    rec.areas = np.array(cols[5], np.float32)
    rec.iscrowd = np.array(cols[6], bool)
    rec.ann_ids = list(cols[7])


def _int(text: str | None) -> int:
    try:
        return int(float(text)) if text is not None else 0
    except ValueError:
        return 0
