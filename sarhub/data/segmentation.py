"""Building segmentation data: SpaceNet6 SAR tiles with GeoJSON or PNG footprints, and plain image/mask folders.

SpaceNet6 (paper §4.3.3, Table 8) as distributed, under one AOI folder:

    <root>/SAR-Intensity/SN6_Train_AOI_11_Rotterdam_SAR-Intensity_<timestamp>_tile_<n>.tif
    <root>/geojson_buildings/SN6_Train_AOI_11_Rotterdam_Buildings_<timestamp>_tile_<n>.geojson
    <root>/masks/SN6_Train_AOI_11_Rotterdam_SAR-Intensity_<timestamp>_tile_<n>.png     (optional, prepared)

A tile is a 900×900 float32 GeoTIFF with four bands HH, HV, VH, VV holding intensity in dB (the SN6 release
converts 2×2-multilooked intensity with 10·log10). Footprints are rasterised with the tile's geotransform
(ModelTiepoint + ModelPixelScale, or ModelTransformation): a pixel is a building when its centre lies inside a
polygon (holes excluded). GeoJSON coordinates may be in the tile's projected CRS, in longitude/latitude (projected
to the tile's UTM zone here: SN6 tiles are UTM 31N) or, for a tile without georeferencing, in pixels.
Prepared mask PNGs in `masks/` (see `write_masks`) take precedence over the GeoJSON: rasterise once, not each epoch.

Input channel (our choice, the paper feeds its single-channel backbones one channel): by default the "span" — the
mean of the four linear intensities, i.e. total backscattered power, back in dB — which keeps every polarisation's
information and averages down speckle; "HH"/"HV"/"VH"/"VV" or a list of them select bands instead. Each channel is
mapped to [0, 1] by a per-tile percentile stretch of its dB values (1st–99th percentile of the valid pixels, clipped);
pixels that are exactly 0 in every band are SN6 no-data and stay 0.

Masks are int64 H×W: 0 background, 1 building, 255 ignored (padding added by a crop, or so marked in a PNG).
PNG masks hold 0/1 (255 = ignore); PNGs holding only 0 and 255 are ambiguous (a 0/255 binary mask, or all-ignore?),
so they are refused unless `mask_format="0255"` declares 255 = building. The paper splits the tiles 7:3 at random:
the split is seeded, written to a JSON file beside the data and reused whenever present.
"""
from __future__ import annotations

import json
import logging
import os
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from sarhub.data.imageio import check_finite, read_raster, to_unit_range
from sarhub.errors import DataError

log = logging.getLogger(__name__)

IGNORE_INDEX = 255
CLASSES = ("background", "building")
SN6_BANDS = ("HH", "HV", "VH", "VV")
SPLIT_FRACTION = 0.7  # paper: 7:3 random split of the labelled tiles (train : test)
SPLITS = ("train", "test", "all")
MASK_FORMATS = ("auto", "01", "0255")
SCALES = ("unit", "db", "linear")

Transform = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


# --- georeferencing and rasterisation ---------------------------------------------------------------------------

@dataclass(frozen=True)
class GeoRef:
    """A GeoTIFF's affine map pixel (col, row) -> model (x, y), corner-of-pixel convention, and its EPSG code."""

    affine: tuple[float, float, float, float, float, float]  # x = a·col + b·row + c ; y = d·col + e·row + f
    epsg: int | None

    def to_pixel(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a, b, c, d, e, f = self.affine
        det = a * e - b * d
        dx, dy = x - c, y - f
        return (e * dx - b * dy) / det, (a * dy - d * dx) / det


def _geokeys(directory: Sequence[int]) -> dict[int, int]:
    """Inline SHORT values of a GeoKeyDirectoryTag: header (1, 1, 0, N), then N × (key, location, count, value)."""
    keys = {}
    n = int(directory[3]) if len(directory) >= 4 else 0
    for i in range(n):
        key, location, _, value = (int(v) for v in directory[4 + 4 * i: 8 + 4 * i])
        if location == 0:
            keys[key] = value
    return keys


def read_georef(path: str | Path) -> GeoRef | None:
    """The tile's geotransform from its GeoTIFF tags, or None when it has none."""
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            tags = {tag.code: tag.value for tag in tif.pages[0].tags.values()}
    except Exception as exc:
        raise DataError(path, f"cannot be read as a GeoTIFF ({type(exc).__name__}: {exc})") from exc
    keys = _geokeys(tags.get(34735, ()))
    epsg = keys.get(3072) or keys.get(2048)  # ProjectedCSTypeGeoKey, else GeographicTypeGeoKey
    if 34264 in tags:  # ModelTransformationTag: 4×4 row-major
        m = [float(v) for v in tags[34264]]
        affine = (m[0], m[1], m[3], m[4], m[5], m[7])
    elif 33922 in tags and 33550 in tags:  # ModelTiepointTag (i, j, k, X, Y, Z) + ModelPixelScaleTag (sx, sy, sz)
        i, j, _, x0, y0, _ = (float(v) for v in tags[33922][:6])
        sx, sy = float(tags[33550][0]), float(tags[33550][1])
        affine = (sx, 0.0, x0 - i * sx, 0.0, -sy, y0 + j * sy)
    else:
        return None
    if keys.get(1025) == 2:  # RasterPixelIsPoint: the tie point is a pixel centre; shift to the corner convention
        a, b, c, d, e, f = affine
        affine = (a, b, c - 0.5 * (a + b), d, e, f - 0.5 * (d + e))
    if affine[0] * affine[4] - affine[1] * affine[3] == 0:
        raise DataError(path, "degenerate geotransform (zero pixel size)")
    return GeoRef(affine, epsg)


def lonlat_to_utm(lon: np.ndarray, lat: np.ndarray, zone: int, south: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 longitude/latitude (degrees) to UTM easting/northing (m), Transverse Mercator series (Snyder 1987)."""
    a, f, k0 = 6378137.0, 1 / 298.257223563, 0.9996
    e2 = f * (2 - f)
    ep2 = e2 / (1 - e2)
    phi, lam = np.radians(lat), np.radians(lon - (zone * 6 - 183))
    n = a / np.sqrt(1 - e2 * np.sin(phi) ** 2)
    t, c = np.tan(phi) ** 2, ep2 * np.cos(phi) ** 2
    aa = np.cos(phi) * lam
    m = a * ((1 - e2 / 4 - 3 * e2**2 / 64 - 5 * e2**3 / 256) * phi
             - (3 * e2 / 8 + 3 * e2**2 / 32 + 45 * e2**3 / 1024) * np.sin(2 * phi)
             + (15 * e2**2 / 256 + 45 * e2**3 / 1024) * np.sin(4 * phi)
             - (35 * e2**3 / 3072) * np.sin(6 * phi))
    x = k0 * n * (aa + (1 - t + c) * aa**3 / 6 + (5 - 18 * t + t**2 + 72 * c - 58 * ep2) * aa**5 / 120) + 500000.0
    y = k0 * (m + n * np.tan(phi) * (aa**2 / 2 + (5 - t + 9 * c + 4 * c**2) * aa**4 / 24
                                     + (61 - 58 * t + t**2 + 600 * c - 330 * ep2) * aa**6 / 720))
    return x, y + (10_000_000.0 if south else 0.0)


def _geojson_epsg(doc: dict) -> int | None:
    name = str(((doc.get("crs") or {}).get("properties") or {}).get("name", ""))
    if not name:
        return None
    if "CRS84" in name.upper():
        return 4326
    found = re.search(r"(\d{4,5})\s*$", name)
    return int(found.group(1)) if found else None


def _polygons(geometry: dict | None, path: Path) -> list[list[np.ndarray]]:
    """Rings (exterior first, then holes) of every polygon in a GeoJSON geometry; non-areal geometry is an error."""
    if not geometry:
        return []
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    try:
        if kind == "Polygon":
            return [[np.asarray(ring, dtype=np.float64)[:, :2] for ring in coords]]
        if kind == "MultiPolygon":
            return [[np.asarray(ring, dtype=np.float64)[:, :2] for ring in poly] for poly in coords]
        if kind == "GeometryCollection":
            return [p for g in geometry.get("geometries", []) for p in _polygons(g, path)]
    except (TypeError, IndexError, ValueError) as exc:
        raise DataError(path, f"malformed {kind} coordinates ({exc})") from exc
    raise DataError(path, f"building footprints must be Polygon/MultiPolygon, found {kind!r}")


def rasterize(polygons: Sequence[Sequence[np.ndarray]], shape: tuple[int, int]) -> np.ndarray:
    """uint8 mask of the pixels whose centres lie inside a polygon (holes cut out); rings in pixel (col, row) units
    with pixel (0, 0) spanning [0, 1)², the GDAL/rasterio "area" convention (all_touched=False)."""
    from skimage.draw import polygon as fill

    cover = np.zeros(shape, dtype=np.int16)
    for rings in polygons:
        for k, ring in enumerate(rings):
            if len(ring) < 3:
                continue
            rr, cc = fill(ring[:, 1] - 0.5, ring[:, 0] - 0.5, shape)  # skimage vertices sit on pixel centres
            cover[rr, cc] += 1 if k == 0 else -1
    return (cover > 0).astype(np.uint8)


def rasterize_geojson(path: str | Path, shape: tuple[int, int], georef: GeoRef | None) -> np.ndarray:
    """Building mask (uint8 0/1) of a footprint GeoJSON on a tile of `shape` with geotransform `georef`."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "building GeoJSON not found (and no prepared mask PNG in masks/)")
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(path, f"not valid GeoJSON ({exc})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("features", []), list):
        raise DataError(path, "not a GeoJSON FeatureCollection")
    polygons = [p for feature in doc.get("features", []) for p in _polygons((feature or {}).get("geometry"), path)]
    if not polygons:
        return np.zeros(shape, dtype=np.uint8)
    if georef is not None:
        polygons = _to_pixels(polygons, georef, _geojson_epsg(doc), path)
    return rasterize(polygons, shape)


def _to_pixels(polygons: list[list[np.ndarray]], georef: GeoRef, epsg: int | None, path: Path
               ) -> list[list[np.ndarray]]:
    """Map rings from the GeoJSON's CRS to tile pixels: lon/lat is projected to the tile's UTM zone first."""
    allxy = np.concatenate([ring for rings in polygons for ring in rings])
    looks_lonlat = bool(np.all(np.abs(allxy[:, 0]) <= 180) and np.all(np.abs(allxy[:, 1]) <= 90))
    tile_geographic = georef.epsg == 4326 or abs(georef.affine[2]) <= 360
    lonlat = epsg == 4326 or (epsg is None and looks_lonlat and not tile_geographic)
    if epsg not in (None, 4326) and georef.epsg is not None and epsg != georef.epsg:
        raise DataError(path, f"GeoJSON CRS EPSG:{epsg} differs from the tile's EPSG:{georef.epsg}")
    project = None
    if lonlat and not tile_geographic:
        code = georef.epsg or 0
        if not (32601 <= code <= 32660 or 32701 <= code <= 32760):
            raise DataError(path, f"longitude/latitude footprints need a UTM tile (EPSG:326xx/327xx), tile has "
                                  f"EPSG:{georef.epsg}; reproject the GeoJSON to the tile's CRS")
        zone, south = code % 100, code >= 32701

        def project(ring: np.ndarray) -> np.ndarray:
            return np.stack(lonlat_to_utm(ring[:, 0], ring[:, 1], zone, south), axis=1)

    out = []
    for rings in polygons:
        mapped = []
        for ring in rings:
            xy = project(ring) if project is not None else ring
            col, row = georef.to_pixel(xy[:, 0], xy[:, 1])
            mapped.append(np.stack([col, row], axis=1))
        out.append(mapped)
    return out


# --- images and masks -------------------------------------------------------------------------------------------

def _chw(array: np.ndarray, path: Path) -> np.ndarray:
    if array.ndim == 2:
        return array[None]
    if array.ndim != 3:
        raise DataError(path, f"expected an H×W or C×H×W image, got shape {array.shape}")
    if array.shape[-1] <= 4 < array.shape[0]:  # H×W×C -> C×H×W
        array = np.moveaxis(array, -1, 0)
    return array


def db_stretch(db: np.ndarray, valid: np.ndarray | None = None, percentiles: tuple[float, float] = (1.0, 99.0)
               ) -> np.ndarray:
    """Per-channel percentile stretch of C×H×W dB values to float32 [0, 1]; pixels outside `valid` become 0."""
    out = np.zeros(db.shape, dtype=np.float32)
    for c in range(db.shape[0]):
        values = db[c] if valid is None else db[c][valid]
        if values.size == 0:
            continue
        lo, hi = np.percentile(values, percentiles)
        scaled = (db[c] - lo) / (hi - lo) if hi > lo else np.zeros_like(db[c])
        out[c] = np.clip(scaled, 0.0, 1.0)
        if valid is not None:
            out[c][~valid] = 0.0
    return out


def intensity_db(raw: np.ndarray, scale: str, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """C×H×W stored intensity ("db" or "linear") as float64 dB, and the H×W valid mask (not 0 in every band:
    SN6 no-data, which stays 0 in dB)."""
    check_finite(raw, path)
    valid = np.any(raw != 0, axis=0)
    if scale == "db":
        return raw.astype(np.float64), valid
    if raw.min() < 0:
        raise DataError(path, "linear intensity cannot be negative (is it dB? use scale='db')")
    return 10.0 * np.log10(np.maximum(raw.astype(np.float64), 1e-10)) * (raw != 0), valid


def to_unit(array: np.ndarray, scale: str, path: Path, percentiles: tuple[float, float] = (1.0, 99.0)) -> np.ndarray:
    """C×H×W stored values to float32 [0, 1]: "unit" = storage convention (uint8/uint16/float in [0, 1]),
    "db" = dB values percentile-stretched, "linear" = linear intensity converted to dB, then stretched."""
    if scale == "unit":
        return to_unit_range(array, path)
    db, valid = intensity_db(array, scale, path)
    return db_stretch(db, valid, percentiles)


def select_polarisation(db: np.ndarray, polarisation: str | Sequence[str], path: Path) -> np.ndarray:
    """Bands of a 4-band HH/HV/VH/VV dB tile: names select bands, "span" is the mean linear intensity in dB."""
    if db.shape[0] != len(SN6_BANDS):
        raise DataError(path, f"expected {len(SN6_BANDS)} bands ({'/'.join(SN6_BANDS)}), found {db.shape[0]}")
    names = [polarisation] if isinstance(polarisation, str) else list(polarisation)
    channels = []
    nodata = np.all(db == 0, axis=0)
    for name in names:
        key = name.upper()
        if key == "SPAN":
            span = 10.0 * np.log10(np.maximum(np.mean(10.0 ** (db.astype(np.float64) / 10.0), axis=0), 1e-10))
            span[nodata] = 0.0
            channels.append(span)
        elif key in SN6_BANDS:
            channels.append(db[SN6_BANDS.index(key)].astype(np.float64))
        else:
            raise ValueError(f"unknown polarisation {name!r}; choose span or one of {', '.join(SN6_BANDS)}")
    return np.stack(channels)


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
        raise DataError(path, "mask holds only 0 and 255: pass mask_format='0255' if 255 marks buildings, "
                              "or mask_format='01' if it marks ignored pixels")
    return array.astype(np.int64)


def write_mask(path: str | Path, mask: np.ndarray) -> None:
    """Save an H×W label array (0/1/255) as an 8-bit PNG, atomically."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.png")
    Image.fromarray(np.asarray(mask, dtype=np.uint8)).save(tmp)
    tmp.replace(path)


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
    tmp = split_file.with_name(f"{split_file.name}.{os.getpid()}.tmp")  # DDP ranks may write it together
    tmp.write_text(json.dumps({"seed": seed, "fraction_train": fraction, **split}, indent=1) + "\n")
    tmp.replace(split_file)
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


# --- training augmentation --------------------------------------------------------------------------------------

class JointCompose:
    """Apply (image, mask) transforms in order, e.g. a letterbox to the input size, then TrainAugment."""

    def __init__(self, *transforms: Transform):
        self.transforms = transforms

    def __call__(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        for transform in self.transforms:
            image, mask = transform(image, mask)
        return image, mask


class TrainAugment:
    """MMSegmentation's training pipeline (the authors' setup), jointly on image (C×H×W) and mask (H×W):

    RandomResize by a ratio in `ratio_range` (bilinear image, nearest mask) -> RandomCrop `crop_size` (re-drawn up to
    10 times while one class covers more than `cat_max_ratio` of it) with padding (image 0, mask 255) when smaller
    -> horizontal flip (p=0.5) -> PhotoMetricDistortion restricted to grey levels: brightness ±32/255 and contrast
    ×[0.5, 1.5], each with p=0.5, clipped to [0, 1]. Randomness comes from torch's generator (seeded per worker).
    """

    def __init__(self, crop_size: int | tuple[int, int] = 512, ratio_range: tuple[float, float] = (0.5, 2.0),
                 flip_prob: float = 0.5, brightness: float = 32 / 255, contrast: tuple[float, float] = (0.5, 1.5),
                 cat_max_ratio: float = 0.75):
        self.crop = (crop_size, crop_size) if isinstance(crop_size, int) else tuple(crop_size)
        self.ratio_range, self.flip_prob = ratio_range, flip_prob
        self.brightness, self.contrast, self.cat_max_ratio = brightness, contrast, cat_max_ratio

    @staticmethod
    def _uniform(lo: float, hi: float) -> float:
        return lo + (hi - lo) * torch.rand(()).item()

    def __call__(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h, w = mask.shape
        ratio = self._uniform(*self.ratio_range)
        size = (max(1, int(h * ratio + 0.5)), max(1, int(w * ratio + 0.5)))
        image = F.interpolate(image[None], size=size, mode="bilinear", align_corners=False)[0]
        mask = F.interpolate(mask[None, None].float(), size=size, mode="nearest")[0, 0].long()
        ch, cw = self.crop
        pad_h, pad_w = max(ch - size[0], 0), max(cw - size[1], 0)
        if pad_h or pad_w:
            image = F.pad(image, (0, pad_w, 0, pad_h), value=0.0)
            mask = F.pad(mask, (0, pad_w, 0, pad_h), value=IGNORE_INDEX)
        y, x = self._crop_origin(mask, ch, cw)
        image, mask = image[:, y:y + ch, x:x + cw], mask[y:y + ch, x:x + cw]
        if torch.rand(()).item() < self.flip_prob:
            image, mask = image.flip(-1), mask.flip(-1)
        if torch.rand(()).item() < 0.5:
            image = image + self._uniform(-self.brightness, self.brightness)
        if torch.rand(()).item() < 0.5:
            image = image * self._uniform(*self.contrast)
        return image.clamp(0.0, 1.0).contiguous(), mask.contiguous()

    def _crop_origin(self, mask: torch.Tensor, ch: int, cw: int) -> tuple[int, int]:
        h, w = mask.shape
        for _ in range(10):
            y = int(torch.randint(h - ch + 1, ()).item())
            x = int(torch.randint(w - cw + 1, ()).item())
            if self.cat_max_ratio >= 1.0:
                break
            crop = mask[y:y + ch, x:x + cw]
            counts = torch.bincount(crop[crop != IGNORE_INDEX].flatten())
            counts = counts[counts > 0]
            if len(counts) > 1 and counts.max().item() / counts.sum().item() < self.cat_max_ratio:
                break
        return y, x
