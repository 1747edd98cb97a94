"""Building segmentation data: SpaceNet6 SAR tiles with GeoJSON or PNG footprints, and plain image/mask folders.

SpaceNet6 (paper §4.3.3, Table 8) as distributed, under one AOI folder:

    <root>/SAR-Intensity/SN6_Train_AOI_11_Rotterdam_SAR-Intensity_<timestamp>_tile_<n>.tif
    <root>/geojson_buildings/SN6_Train_AOI_11_Rotterdam_Buildings_<timestamp>_tile_<n>.geojson
    <root>/masks/SN6_Train_AOI_11_Rotterdam_SAR-Intensity_<timestamp>_tile_<n>.png     (optional, prepared)

A tile is a 900×900 float32 GeoTIFF with four bands HH, HV, VH, VV holding intensity in dB. Footprints are
rasterised on the tile's grid (`sarhub.data.georef`: geotransform and CRS, reprojection, pixel-centre rule);
prepared mask PNGs in `masks/` (see `write_masks`) take precedence over the GeoJSON: rasterise once, not each epoch.

Input channel (our choice, the paper feeds its single-channel backbones one channel): by default the "span"
(`sarhub.data.radiometry`); "HH"/"HV"/"VH"/"VV" or a list of them select bands instead. Each channel is mapped to
[0, 1] by a per-tile percentile stretch of its dB values (1st–99th percentile of the valid pixels, clipped).

Masks are int64 H×W: 0 background, 1 building, 255 ignored (padding added by a crop, or so marked in a PNG).
PNG masks hold 0/1 (255 = ignore); PNGs holding only 0 and 255 are ambiguous (a 0/255 binary mask, or all-ignore?),
so they are refused unless `mask_format="0255"` declares 255 = building. The paper splits the tiles 7:3 at random:
the split is seeded, written to a JSON file beside the data and reused whenever present.
"""
from __future__ import annotations

import io
import json
import logging
import random
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from sarhub.checkpoints import atomic_write, write_text_atomic
from sarhub.data.georef import rasterize_geojson, read_georef
from sarhub.data.imageio import read_raster
from sarhub.data.radiometry import db_stretch, intensity_db, select_polarisation, to_unit
from sarhub.data.segmentation_transforms import Transform
from sarhub.errors import DataError
from sarhub.metrics.segmentation import IGNORE_INDEX

log = logging.getLogger(__name__)

CLASSES = ("background", "building")
SPLIT_FRACTION = 0.7  # paper: 7:3 random split of the labelled tiles (train : test)
SPLITS = ("train", "test", "all")
MASK_FORMATS = ("auto", "01", "0255")
SCALES = ("unit", "db", "linear")


# --- images and masks -------------------------------------------------------------------------------------------

def _chw(array: np.ndarray, path: Path) -> np.ndarray:
    if array.ndim == 2:
        return array[None]
    if array.ndim != 3:
        raise DataError(path, f"expected an H×W or C×H×W image, got shape {array.shape}")
    if array.shape[-1] <= 4 < array.shape[0]:  # H×W×C -> C×H×W
        array = np.moveaxis(array, -1, 0)
    return array


def load_mask(path: str | Path, mask_format: str = "auto") -> np.ndarray:
    """Read a mask PNG as int64 H×W with 0 background, 1 building, 255 ignore (see the module docstring)."""
    path = Path(path)
    if mask_format not in MASK_FORMATS:
        raise ValueError(f"mask_format must be one of {MASK_FORMATS}")
    array = read_raster(path)
    if array.ndim == 3:  # an RGB(A) mask with identical colour channels
        if not all(np.array_equal(array[..., 0], array[..., k]) for k in range(1, min(array.shape[-1], 3))):
            raise DataError(path, "colour mask: expected a single-channel label PNG (0 background, 1 building)")
        array = array[..., 0]
    if array.dtype == bool:  # a 1-bit PNG: True = building
        array = array.astype(np.uint8)
    if array.ndim != 2 or not np.issubdtype(array.dtype, np.integer):
        raise DataError(path, f"expected an integer H×W label image, got {array.dtype} {array.shape}")
    values = set(np.unique(array).tolist())
    if mask_format == "0255":
        if not values <= {0, 255}:
            raise DataError(path, f"label values {sorted(values - {0, 255})} outside {{0, 255}} (mask_format='0255')")
        return (array == 255).astype(np.int64)
    if not values <= {0, 1, IGNORE_INDEX}:
        raise DataError(path, f"label values {sorted(values - {0, 1, IGNORE_INDEX})[:5]} outside {{0, 1}} "
                              f"(and {IGNORE_INDEX} = ignore)")
    if mask_format == "auto" and IGNORE_INDEX in values and 1 not in values:
        raise DataError(path, "mask holds only 0 and 255: set mask_format (--mask-format) to 0255 if 255 marks "
                              "buildings, or to 01 if it marks ignored pixels")
    return array.astype(np.int64)


def write_mask(path: str | Path, mask: np.ndarray) -> None:
    """Save an H×W label array (0/1/255) as an 8-bit PNG, atomically."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.asarray(mask, dtype=np.uint8)).save(buffer, format="PNG")
    atomic_write(path, buffer.getbuffer())


# --- splits -----------------------------------------------------------------------------------------------------

def split_items(stems: Sequence[str], split_file: Path, seed: int, fraction: float = SPLIT_FRACTION
                ) -> dict[str, list[str]]:
    """The seeded random train/test split of `stems`, read from `split_file` when it exists, else made and written."""
    if split_file.is_file():
        try:
            doc = json.loads(split_file.read_text())
            split = {"train": list(doc["train"]), "test": list(doc["test"])}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DataError(split_file, f"not a split file with 'train' and 'test' lists ({exc})") from exc
        missing = sorted(set(split["train"] + split["test"]) - set(stems))
        if missing:
            raise DataError(split_file, f"lists {len(missing)} tile(s) not in the dataset, e.g. {missing[0]}")
        unlisted = len(set(stems) - set(split["train"]) - set(split["test"]))
        if unlisted:
            log.warning("%s: %d tile(s) of the dataset are in neither split and are not used", split_file, unlisted)
        return split
    order = sorted(stems)
    random.Random(seed).shuffle(order)
    n_train = int(round(fraction * len(order)))
    split = {"train": sorted(order[:n_train]), "test": sorted(order[n_train:])}
    write_text_atomic(split_file, json.dumps({"seed": seed, "fraction_train": fraction, **split}, indent=1) + "\n")
    log.info("wrote split %s: %d train / %d test", split_file, len(split["train"]), len(split["test"]))
    return split


# --- datasets ---------------------------------------------------------------------------------------------------

class _SegmentationDataset(Dataset):
    """Shared item logic: load (image, mask), check sizes, optional in-memory cache, joint transform."""

    def __init__(self, root: Path, stems: list[str], split: str, seed: int, split_file: str | Path | None,
                 transform: Transform | None, cache: bool):
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}")
        if not stems:
            raise DataError(root, "no images found")
        if split != "all":
            split_file = Path(split_file) if split_file is not None else root / f"split_seed{seed}.json"
            stems = split_items(stems, split_file, seed)[split]
        self.root, self.stems, self.split = root, stems, split
        self.transform = transform
        self._cache: dict[int, tuple[torch.Tensor, torch.Tensor]] | None = {} if cache else None

    def image_path(self, stem: str) -> Path:
        raise NotImplementedError

    def read(self, stem: str) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def load(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(image float32 C×H×W in [0, 1], mask int64 H×W) before any transform."""
        if self._cache is not None and index in self._cache:
            return self._cache[index]
        stem = self.stems[index]
        image, mask = self.read(stem)
        if mask.shape != image.shape[1:]:
            raise DataError(self.mask_path(stem), f"mask is {mask.shape[1]}×{mask.shape[0]} px but the image "
                                                  f"{self.image_path(stem).name} is {image.shape[2]}×{image.shape[1]}")
        pair = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)), torch.from_numpy(mask)
        if self._cache is not None:
            self._cache[index] = pair
        return pair

    def mask_path(self, stem: str) -> Path:
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self.stems)

    def __getitem__(self, index: int) -> dict[str, Any]:
        image, mask = self.load(index)
        if self.transform is not None:
            image, mask = self.transform(image, mask)
        return {"image": image, "mask": mask, "path": str(self.image_path(self.stems[index]))}


class SpaceNet6(_SegmentationDataset):
    """SpaceNet6 SAR-Intensity tiles with building masks (module docstring: layout, channel, scaling, split).

    root: the AOI folder holding `SAR-Intensity/` (or a parent of it, e.g. `train/`).
    polarisation: "span" (default), "HH", "HV", "VH", "VV", or a sequence of them for a multi-channel input.
    scale: how tiles store values, "db" (SN6) or "linear" intensity. split: "train" (70 %), "test" (30 %) or "all".
    """

    def __init__(self, root: str | Path, split: str = "train", transform: Transform | None = None, seed: int = 0,
                 polarisation: str | Sequence[str] = "span", scale: str = "db",
                 percentiles: tuple[float, float] = (1.0, 99.0), split_file: str | Path | None = None,
                 mask_format: str = "auto", cache: bool = False):
        root = find_spacenet6_root(Path(root))
        if scale not in ("db", "linear"):
            raise ValueError("scale must be 'db' or 'linear' for SpaceNet6 tiles")
        self.polarisation, self.scale, self.percentiles = polarisation, scale, percentiles
        self.mask_format = mask_format
        select_polarisation(np.zeros((4, 1, 1)), polarisation, root)  # fail fast on a bad name
        stems = sorted(p.stem for p in (root / "SAR-Intensity").glob("*.tif"))
        super().__init__(root, stems, split, seed, split_file, transform, cache)

    @property
    def in_chans(self) -> int:
        return 1 if isinstance(self.polarisation, str) else len(self.polarisation)

    def image_path(self, stem: str) -> Path:
        return self.root / "SAR-Intensity" / f"{stem}.tif"

    def mask_path(self, stem: str) -> Path:
        png = self.root / "masks" / f"{stem}.png"
        return png if png.is_file() else geojson_path(self.root, stem)

    def read(self, stem: str) -> tuple[np.ndarray, np.ndarray]:
        path = self.image_path(stem)
        db, valid = intensity_db(_chw(read_raster(path), path), self.scale, path)
        image = db_stretch(select_polarisation(db, self.polarisation, path), valid, self.percentiles)
        mask_path = self.mask_path(stem)
        if mask_path.suffix == ".png":
            mask = load_mask(mask_path, self.mask_format)
        else:
            mask = rasterize_geojson(mask_path, image.shape[1:], read_georef(path)).astype(np.int64)
        return image, mask


def find_spacenet6_root(root: Path) -> Path:
    """The folder holding `SAR-Intensity/`: `root` itself or the one folder below it that has one."""
    if (root / "SAR-Intensity").is_dir():
        return root
    found = sorted(p.parent for pattern in ("*/SAR-Intensity", "*/*/SAR-Intensity") for p in root.glob(pattern))
    if not found:
        raise DataError(root, "no SpaceNet6 'SAR-Intensity' folder here or below")
    if len(found) > 1:
        raise DataError(root, f"several SpaceNet6 folders below ({', '.join(str(f) for f in found)}); pass one")
    return found[0]


def geojson_path(root: Path, stem: str) -> Path:
    """`..._SAR-Intensity_<id>` -> `geojson_buildings/..._Buildings_<id>.geojson`."""
    return root / "geojson_buildings" / (stem.replace("_SAR-Intensity_", "_Buildings_") + ".geojson")


def write_masks(root: str | Path, overwrite: bool = False) -> int:
    """Rasterise every tile's GeoJSON into `masks/<tile stem>.png` (0/1) once; returns the number written."""
    root = find_spacenet6_root(Path(root))
    written = 0
    for tif in sorted((root / "SAR-Intensity").glob("*.tif")):
        out = root / "masks" / f"{tif.stem}.png"
        if out.is_file() and not overwrite:
            continue
        shape = _chw(read_raster(tif), tif).shape[1:]
        write_mask(out, rasterize_geojson(geojson_path(root, tif.stem), shape, read_georef(tif)))
        written += 1
    return written


class SegmentationFolder(_SegmentationDataset):
    """Plain layout `<root>/images/<stem>.png|tif|...` + `<root>/masks/<stem>.png`, same 7:3 split mechanism.

    scale: "unit" (uint8/uint16, floats already in [0, 1]), "db" or "linear" (percentile stretch as SpaceNet6).
    grey: average multi-channel images (e.g. R=G=B SAR PNGs) to one channel.
    """

    def __init__(self, root: str | Path, split: str = "train", transform: Transform | None = None, seed: int = 0,
                 scale: str = "unit", grey: bool = True, percentiles: tuple[float, float] = (1.0, 99.0),
                 split_file: str | Path | None = None, mask_format: str = "auto", cache: bool = False):
        root = Path(root)
        if not (root / "images").is_dir() or not (root / "masks").is_dir():
            raise DataError(root, "expected 'images/' and 'masks/' folders")
        if scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}")
        self.scale, self.grey, self.percentiles, self.mask_format = scale, grey, percentiles, mask_format
        self._files: dict[str, Path] = {}
        for p in sorted((root / "images").iterdir()):
            if p.suffix.lower() in (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp"):
                if p.stem in self._files:
                    raise DataError(p, f"two images share the stem {p.stem!r}")
                self._files[p.stem] = p
        for stem in self._files:
            if not (root / "masks" / f"{stem}.png").is_file():
                raise DataError(root / "masks" / f"{stem}.png", f"mask of image {self._files[stem].name} not found")
        super().__init__(root, sorted(self._files), split, seed, split_file, transform, cache)

    def image_path(self, stem: str) -> Path:
        return self._files[stem]

    def mask_path(self, stem: str) -> Path:
        return self.root / "masks" / f"{stem}.png"

    def read(self, stem: str) -> tuple[np.ndarray, np.ndarray]:
        path = self.image_path(stem)
        array = _chw(read_raster(path), path)
        if array.shape[0] == 4 and path.suffix.lower() == ".png":  # RGBA: drop alpha
            array = array[:3]
        image = to_unit(array, self.scale, path, self.percentiles)
        if self.grey and image.shape[0] > 1:
            image = image.mean(axis=0, keepdims=True)
        return image, load_mask(self.mask_path(stem), self.mask_format)
