"""Unlabelled SAR image pools for self-supervised pre-training: any folder tree of rasters, read once into memory.

Every file becomes one grey float image in [0, 1]: 8/16-bit integers are scaled by their type's range, floats
(amplitude, σ0 or dB GeoTIFFs) get a 1–99 % percentile stretch; multi-band rasters use their first band (R=G=B
PNGs are grey). Chips are centre-cropped to the training size when larger (MSTAR's chip size leaks the class, and
large scenes such as HRSID's 800×800 tiles are cut into non-overlapping tiles instead), and resized when smaller.
"""
from __future__ import annotations

import fnmatch
import logging
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset
from tqdm import tqdm

from sarhub.data.imageio import IMAGE_EXTENSIONS, check_finite, read_raster
from sarhub.errors import DataError

log = logging.getLogger(__name__)


def scan_images(roots: Iterable[str | Path], extensions: Sequence[str] = IMAGE_EXTENSIONS,
                exclude: Sequence[str] = ()) -> list[Path]:
    """Every file under `roots` (recursive) with one of `extensions`, minus those whose path matches an
    `exclude` glob (e.g. '*/mstar_soc/test/*' keeps MSTAR's test chips out of the pool, '*_instance_*' masks)."""
    files = []
    for root in roots:
        root = Path(root)
        if not root.exists():
            raise DataError(root, "folder not found")
        candidates = [root] if root.is_file() else sorted(root.rglob("*"))
        for path in candidates:
            if path.is_file() and path.suffix.lower() in extensions:
                if not any(fnmatch.fnmatch(str(path), pattern) for pattern in exclude):
                    files.append(path)
    if not files:
        raise DataError(None, f"no images with extensions {tuple(extensions)} under {[str(r) for r in roots]}")
    return files


def to_grey_unit(array: np.ndarray, path: Path) -> np.ndarray:
    """One grey float32 image in [0, 1] from any stored raster (see module docstring)."""
    if array.ndim == 3:
        band_axis = 0 if array.shape[0] <= 4 and array.shape[-1] > 4 else -1
        array = np.take(array, 0, axis=band_axis)
    if array.ndim != 2:
        raise DataError(path, f"expected a 2-D image or a stack of bands, got shape {array.shape}")
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    if array.dtype == np.uint16:
        return array.astype(np.float32) / 65535.0
    array = array.astype(np.float32)
    check_finite(array, path)
    lo, hi = np.percentile(array, [1, 99])
    return np.clip((array - lo) / max(hi - lo, 1e-12), 0, 1).astype(np.float32)


def tiles(image: np.ndarray, size: int) -> list[np.ndarray]:
    """Centre crop a chip to size×size; cut a large scene (≥ 2 tiles across) into non-overlapping tiles;
    a smaller image is resized up."""
    h, w = image.shape
    if h < size or w < size:
        t = torch.from_numpy(image)[None, None]
        return [F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False)[0, 0].numpy()]
    if h >= 2 * size and w >= 2 * size:
        return [image[y:y + size, x:x + size] for y in range(0, h - size + 1, size) for x in range(0, w - size + 1, size)]
    y, x = (h - size) // 2, (w - size) // 2
    return [image[y:y + size, x:x + size]]


class UnlabelledPool(Dataset):
    """All tiles of all files, decoded once into one uint8 tensor in memory (small SAR pools fit easily)."""

    def __init__(self, files: Sequence[Path], size: int = 128, flip: bool = True):
        chunks, self.sources = [], []
        for path in tqdm(files, desc="reading unlabelled pool", leave=False):
            for tile in tiles(to_grey_unit(read_raster(path), path), size):
                chunks.append(torch.from_numpy(np.round(tile * 255).astype(np.uint8)))
                self.sources.append(str(path))
        self.images = torch.stack(chunks)
        self.flip = flip
        self.feature_maps: torch.Tensor | None = None
        log.info("unlabelled pool: %d tiles from %d files", len(self.images), len(files))

    def cache_features(self, compute: Callable[[torch.Tensor], torch.Tensor], batch_size: int = 256) -> None:
        """Compute per-image target maps once (e.g. SAR gradient features) and serve them with the images, in
        float16; left/right flips are applied to both (a gradient magnitude flips with its image)."""
        maps = [compute(self.images[i:i + batch_size].float().div(255.0)[:, None]).half()
                for i in tqdm(range(0, len(self.images), batch_size), desc="caching targets", leave=False)]
        self.feature_maps = torch.cat(maps)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict:
        image = self.images[index].float().div_(255.0)[None]
        maps = self.feature_maps[index] if self.feature_maps is not None else None
        if self.flip and torch.rand(()) < 0.5:
            image = image.flip(-1)
            maps = maps.flip(-1) if maps is not None else None
        item = {"image": image, "path": self.sources[index]}
        if maps is not None:
            item["feature_maps"] = maps
        return item
