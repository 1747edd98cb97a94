"""Simulated SAR ship scenes written as the ship-detection benchmarks ship them (HRSID-style COCO json, SSDD-style
PASCAL VOC), so the detection scripts run and can be tested without the real data.

Sea clutter is K-distributed-like: a log-normal texture (with a long-wave swell modulation) times L-look gamma
speckle. Ships are bright, elongated, arbitrarily oriented hulls of varied size with a few dominant scatterers along
the keel; strong ones smear into the axis-aligned side-lobe cross of an unweighted SAR impulse response (range and
azimuth sidelobes). Some scenes hold no ship; some have a bright textured land/coast region with strong point
scatterers (harbour clutter) that ships never overlap. A box is the tight extent of the hull (side lobes excluded,
as the benchmarks annotate). Images are 8-bit grey amplitude; everything is deterministic by seed.
"""
from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from sarhub.checkpoints import atomic_write, write_text_atomic
from sarhub.data.synthetic.scenes import cache_dir
from sarhub.data.synthetic.speckle import rotated_rect, smooth_field, speckle, textured_reflectivity

CATEGORY = {"supercategory": "ship", "id": 1, "name": "ship"}


def simulate_ship_scene(rng: np.random.Generator, size: int = 256) -> tuple[np.ndarray, list[tuple], np.ndarray]:
    """One scene: (8-bit grey image H×W, ship boxes as (x1, y1, x2, y2, hull_area) with x2/y2 exclusive, land mask)."""
    shape = (size, size)
    sea = rng.uniform(0.05, 0.2)
    refl = textured_reflectivity(rng, shape, sea, rng.uniform(0.2, 0.7), rng.uniform(1.5, 6.0))
    refl *= np.exp(rng.uniform(0.0, 0.3) * _swell(rng, size))

    land = np.zeros(shape, bool)
    if rng.random() < 0.25:  # a coast: one side of a wiggly line through the scene, bright textured land
        yy, xx = np.mgrid[:size, :size]
        angle = rng.uniform(0, 2 * np.pi)
        offset = rng.uniform(0.55, 0.85) * size / 2
        dist = (xx - size / 2) * np.cos(angle) + (yy - size / 2) * np.sin(angle)
        land = dist + 0.06 * size * smooth_field(rng, shape, size / 10) > offset
        land_level = sea * rng.uniform(4, 10)
        land_refl = textured_reflectivity(rng, shape, land_level, rng.uniform(0.5, 1.0), rng.uniform(2, 8))
        refl = np.where(land, land_refl, refl)
        n_points = int(land.sum() / 400)
        if n_points:
            ly, lx = np.nonzero(land)
            pick = rng.integers(0, len(ly), n_points)
            refl[ly[pick], lx[pick]] += sea * rng.uniform(50, 300, n_points)

    boxes: list[tuple] = []
    occupied = land.copy()
    n_ships = 0 if rng.random() < 0.15 else int(rng.integers(1, 7))
    for _ in range(n_ships):
        for _attempt in range(20):
            length = float(np.exp(rng.uniform(np.log(8), np.log(size * 0.3))))
            width = max(2.0, length / rng.uniform(3.0, 6.0))
            angle = rng.uniform(0, np.pi)
            reach = 0.5 * (abs(length * np.cos(angle)) + abs(width * np.sin(angle))) + 2, \
                0.5 * (abs(length * np.sin(angle)) + abs(width * np.cos(angle))) + 2
            cx, cy = rng.uniform(reach[0], size - reach[0]), rng.uniform(reach[1], size - reach[1])
            hull = rotated_rect(shape, cy, cx, length / 2, width / 2, angle)
            halo = rotated_rect(shape, cy, cx, length / 2 + 3, width / 2 + 3, angle)
            if hull.sum() >= 6 and not (halo & occupied).any():
                break
        else:
            continue
        occupied |= halo
        level = sea * rng.uniform(15, 60)
        refl = np.where(hull, level * np.exp(0.4 * rng.standard_normal(shape)), refl)
        # dominant scatterers along the keel (superstructure, corners)
        t = rng.uniform(-0.45, 0.45, int(rng.integers(1, 4))) * length
        py = np.clip(np.round(cy + t * np.sin(angle)).astype(int), 0, size - 1)
        px = np.clip(np.round(cx + t * np.cos(angle)).astype(int), 0, size - 1)
        peak = level * rng.uniform(5, 30)
        refl[py, px] += peak
        if rng.random() < 0.35:  # side-lobe cross of the strongest scatterer (sinc² envelope ~ 1/d²)
            d, gain = np.arange(size), rng.uniform(0.2, 0.5) * peak
            refl[py[0], :] += gain / (1.0 + ((d - px[0]) / 2.0) ** 2)
            refl[:, px[0]] += gain / (1.0 + ((d - py[0]) / 2.0) ** 2)
        ys, xs = np.nonzero(hull)
        boxes.append((int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1, int(hull.sum())))

    intensity = speckle(rng, refl, looks=rng.uniform(1.0, 3.0))
    amplitude = np.sqrt(intensity)
    white = np.sqrt(sea) * rng.uniform(5.0, 8.0)  # sea sits near grey 35–50, ships saturate
    image = np.clip(amplitude / white * 255.0, 0, 255).astype(np.uint8)
    return image, boxes, land


def _swell(rng: np.random.Generator, size: int) -> np.ndarray:
    """Long-crested swell: a sinusoid of random direction and wavelength, unit amplitude."""
    yy, xx = np.mgrid[:size, :size]
    angle, wavelength = rng.uniform(0, np.pi), rng.uniform(20, 60)
    return np.sin(2 * np.pi * (np.cos(angle) * xx + np.sin(angle) * yy) / wavelength + rng.uniform(0, 2 * np.pi))


def _scenes(n: int, size: int, seed: int, split: str):
    """Deterministic scenes of one split (each split has its own stream, so n_train does not change the test set)."""
    rng = np.random.default_rng([seed, {"train": 0, "test": 1}[split]])
    for i in range(n):
        image, boxes, _ = simulate_ship_scene(rng, size)
        yield f"S{seed:03d}_{split}_{i:05d}", image, boxes


def _save_image(path: Path, image: np.ndarray) -> None:
    """8-bit grey PNG, or JPEG (quality 95) for a .jpg path, written atomically."""
    from PIL import Image

    buffer = io.BytesIO()
    if path.suffix == ".jpg":
        Image.fromarray(image).save(buffer, format="JPEG", quality=95)
    else:
        Image.fromarray(image).save(buffer, format="PNG")
    atomic_write(path, buffer.getbuffer())


def write_coco_ship_dataset(root: str | Path, n_train: int = 200, n_test: int = 50, size: int = 256,
                            seed: int = 0) -> Path:
    """Write `root/images/*.png` (8-bit grey) and `root/annotations/{train,test}.json` in HRSID's COCO layout.

    Annotations carry the hull polygon as `segmentation` and its pixel area as `area` (HRSID's areas are mask
    areas), category id 1 "ship". Returns `root`.
    """
    root = Path(root)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    ann_id = 0
    for split, n in (("train", n_train), ("test", n_test)):
        images, annotations = [], []
        for image_id, (name, image, boxes) in enumerate(_scenes(n, size, seed, split), start=1):
            _save_image(root / "images" / f"{name}.png", image)
            images.append({"file_name": f"{name}.png", "height": size, "width": size, "id": image_id})
            for x1, y1, x2, y2, area in boxes:
                ann_id += 1
                annotations.append({
                    "segmentation": [[x1, y1, x2, y1, x2, y2, x1, y2]], "area": area, "iscrowd": 0,
                    "image_id": image_id, "bbox": [x1, y1, x2 - x1, y2 - y1], "category_id": CATEGORY["id"],
                    "id": ann_id})
        data = {"info": {"description": f"SAR-HUB simulated ship scenes (seed {seed})"}, "licenses": [],
                "images": images, "annotations": annotations, "categories": [CATEGORY]}
        write_text_atomic(root / "annotations" / f"{split}.json", json.dumps(data))
    return root


def write_voc_ship_dataset(root: str | Path, n_train: int = 200, n_test: int = 50, size: int = 256,
                           seed: int = 0) -> Path:
    """Write SSDD's VOC release layout: `JPEGImages/*.jpg`, `Annotations/*.xml`, `ImageSets/Main/{train,test}.txt`.

    The same scenes as `write_coco_ship_dataset` with the same seed. Returns `root`.
    """
    root = Path(root)
    for sub in ("JPEGImages", "Annotations", "ImageSets/Main"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("test", n_test)):
        names = []
        for name, image, boxes in _scenes(n, size, seed, split):
            _save_image(root / "JPEGImages" / f"{name}.jpg", image)
            write_text_atomic(root / "Annotations" / f"{name}.xml", _voc_xml(f"{name}.jpg", size, boxes))
            names.append(name)
        write_text_atomic(root / "ImageSets" / "Main" / f"{split}.txt", "\n".join(names) + "\n")
    return root


def _voc_xml(filename: str, size: int, boxes: list[tuple]) -> str:
    ann = ET.Element("annotation")
    ET.SubElement(ann, "folder").text = "JPEGImages"
    ET.SubElement(ann, "filename").text = filename
    sz = ET.SubElement(ann, "size")
    for tag, value in (("width", size), ("height", size), ("depth", 1)):
        ET.SubElement(sz, tag).text = str(value)
    ET.SubElement(ann, "segmented").text = "0"
    for x1, y1, x2, y2, _ in boxes:
        obj = ET.SubElement(ann, "object")
        ET.SubElement(obj, "name").text = CATEGORY["name"]
        ET.SubElement(obj, "pose").text = "Unspecified"
        ET.SubElement(obj, "truncated").text = "0"
        ET.SubElement(obj, "difficult").text = "0"
        bnd = ET.SubElement(obj, "bndbox")
        for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), (x1, y1, x2, y2)):
            ET.SubElement(bnd, tag).text = str(value)
    ET.indent(ann)
    return ET.tostring(ann, encoding="unicode") + "\n"


def simulated_ship_root(n_train: int = 160, n_test: int = 40, seed: int = 0, size: int = 128) -> Path:
    """The embedded default of object_detection: simulated ship scenes in HRSID's COCO layout, written once."""
    root = cache_dir() / "simulated" / f"ships_{n_train}_{n_test}_seed{seed}"
    if not (root / ".complete").is_file():
        write_coco_ship_dataset(root, n_train, n_test, size=size, seed=seed)
        (root / ".complete").write_text("ok")
    return root
