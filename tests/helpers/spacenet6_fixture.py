"""A tiny SpaceNet6 folder written by the tests: 4-band float32 dB GeoTIFF tiles in SN6 naming (UTM 31N, 0.5 m
pixels, optionally without georeference) and building footprints as GeoJSON in any CRS."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import tifffile

PREFIX = "SN6_Train_AOI_11_Rotterdam"
X0, Y0, PX = 600000.0, 5750000.0, 0.5  # UTM 31N upper-left corner, 0.5 m pixels
H, W = 24, 32  # not square, so a transposed mask would fail


def write_tile(root: Path, tile: int, geo: bool = True, bands: int = 4, size: tuple[int, int] = (H, W)) -> str:
    """A 4-band float32 dB tile in SN6 naming; returns its stem."""
    (root / "SAR-Intensity").mkdir(parents=True, exist_ok=True)
    stem = f"{PREFIX}_SAR-Intensity_20190804111224_20190804111453_tile_{tile}"
    rng = np.random.default_rng(tile)
    data = (10 * np.log10(rng.gamma(4.0, 0.25, (bands, *size)) + 0.01) + 40).astype(np.float32)
    tags = []
    if geo:
        keys = (1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, 32631)
        tags = [(33550, "d", 3, (PX, PX, 0.0), True), (33922, "d", 6, (0, 0, 0, X0, Y0, 0), True),
                (34735, "H", len(keys), keys, True)]
    tifffile.imwrite(root / "SAR-Intensity" / f"{stem}.tif", data, planarconfig="separate",
                     photometric="minisblack", extratags=tags)
    return stem


def write_geojson(root: Path, stem: str, rings: list[list[list[list[float]]]], crs: str | None) -> Path:
    (root / "geojson_buildings").mkdir(parents=True, exist_ok=True)
    doc: dict = {"type": "FeatureCollection",
                 "features": [{"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": r}}
                              for r in rings]}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    path = root / "geojson_buildings" / (stem.replace("_SAR-Intensity_", "_Buildings_") + ".geojson")
    path.write_text(json.dumps(doc))
    return path


def utm(col: float, row: float) -> list[float]:
    return [X0 + col * PX, Y0 - row * PX]
