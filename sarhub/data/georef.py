"""SpaceNet6 footprints on a tile's pixel grid: the GeoTIFF's geotransform and CRS (rasterio), GeoJSON building
polygons reprojected to the tile's CRS (pyproj), then rasterised with the geotransform (`sarhub.data.rasterize`).

GeoJSON coordinates may be in the tile's CRS; in any CRS the file declares (`crs` member, e.g. SN6's lon/lat
"urn:ogc:def:crs:OGC:1.3:CRS84" on UTM 31N tiles), reprojected; undeclared but within lon/lat ranges on a projected
tile, taken as lon/lat (RFC 7946's default); or, on a tile without georeferencing, in pixels.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sarhub.data.rasterize import Polygon, rasterize
from sarhub.errors import DataError

if TYPE_CHECKING:
    from affine import Affine
    from pyproj import CRS


@dataclass(frozen=True)
class GeoRef:
    """A GeoTIFF's affine map pixel (col, row) corner -> model (x, y), and its CRS when the file names one."""

    transform: Affine
    crs: CRS | None

    @property
    def geographic(self) -> bool:
        """Model units are degrees: a geographic CRS, or (no CRS) an origin that can only be lon/lat."""
        return self.crs.is_geographic if self.crs is not None else abs(self.transform.c) <= 360


def read_georef(path: str | Path) -> GeoRef | None:
    """The tile's geotransform and CRS as GDAL reads them (PixelIsPoint shifted to corners), None when it has none."""
    import rasterio
    from pyproj import CRS
    from rasterio.errors import NotGeoreferencedWarning, RasterioError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as src:
                transform, crs, gcps = src.transform, src.crs, src.gcps[0]
    except RasterioError as exc:
        raise DataError(path, f"cannot be read as a GeoTIFF ({type(exc).__name__}: {exc})") from exc
    if transform.is_identity:  # GDAL's answer for "no geotransform" (GeoKeys alone place nothing)
        if gcps:  # how GDAL reads a tie point without a usable pixel scale
            raise DataError(path, "degenerate geotransform (zero pixel size, or ground control points only)")
        return None
    if transform.determinant == 0:
        raise DataError(path, "degenerate geotransform (zero pixel size)")
    return GeoRef(transform, CRS.from_user_input(crs.to_wkt()) if crs is not None else None)


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


def _declared_crs(doc: dict, path: Path) -> CRS | None:
    """The CRS named by the GeoJSON's (pre-RFC 7946) `crs` member, None when it names none."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    name = str(((doc.get("crs") or {}).get("properties") or {}).get("name", ""))
    if not name:
        return None
    try:
        return CRS.from_user_input(name)
    except CRSError as exc:
        raise DataError(path, f"unknown CRS {name!r} in the GeoJSON 'crs' member ({exc})") from exc


def _to_tile_crs(polygons: list[list[np.ndarray]], georef: GeoRef, source: CRS | None, path: Path
                 ) -> list[list[np.ndarray]]:
    """Rings reprojected from the GeoJSON's CRS (declared, or lon/lat guessed) to the tile's (module docstring)."""
    from pyproj import CRS, Transformer
    from pyproj.exceptions import ProjError

    if source is None:
        allxy = np.concatenate([ring for rings in polygons for ring in rings])
        looks_lonlat = bool(np.all(np.abs(allxy[:, 0]) <= 180) and np.all(np.abs(allxy[:, 1]) <= 90))
        if not looks_lonlat or georef.geographic:
            return polygons  # already in the tile's CRS
        source = CRS.from_user_input("OGC:CRS84")
    if georef.crs is None:
        if source.is_geographic and not georef.geographic:
            raise DataError(path, f"footprints in {source.name} cannot be reprojected onto a tile without a CRS; "
                                  f"reproject the GeoJSON to the tile's CRS")
        return polygons  # assumed in the tile's (unnamed) CRS
    if source == georef.crs:
        return polygons
    try:
        transformer = Transformer.from_crs(source, georef.crs, always_xy=True)
    except ProjError as exc:
        raise DataError(path, f"footprints in {source.name} cannot be reprojected to the tile's CRS "
                              f"{georef.crs.name} ({exc})") from exc
    out = [[np.stack(transformer.transform(ring[:, 0], ring[:, 1]), axis=1) for ring in rings] for rings in polygons]
    if not all(np.isfinite(ring).all() for rings in out for ring in rings):
        raise DataError(path, f"footprints fall outside where {source.name} -> {georef.crs.name} is defined")
    return out


def geojson_polygons(path: str | Path, georef: GeoRef | None) -> list[Polygon]:
    """Footprint polygons of a building GeoJSON, in the tile's CRS (pixels when the tile has no georeference)."""
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
    if polygons and georef is not None:
        polygons = _to_tile_crs(polygons, georef, _declared_crs(doc, path), path)
    return polygons


def rasterize_geojson(path: str | Path, shape: tuple[int, int], georef: GeoRef | None) -> np.ndarray:
    """Building mask (uint8 0/1) of a footprint GeoJSON on a tile of `shape` with geotransform `georef`."""
    polygons = geojson_polygons(path, georef)
    return rasterize(polygons, shape, georef.transform if georef is not None else None)
