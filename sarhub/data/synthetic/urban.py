"""Simulated urban SAR tiles in the SpaceNet6 layout, so the real SpaceNet6 reader (GeoTIFF + GeoJSON) is exercised.

A scene is speckled ground (log-normal texture), patches of vegetation (brighter, rougher, strong cross-pol),
dark roads, and buildings: rotated rectangular footprints with a moderately bright textured roof, a bright layover
band on the side facing the sensor, a very bright double-bounce line at the facing wall and a dark shadow on the far
side. The sensor looks along the image rows from the left or the right, fixed per acquisition ("timestamp"), like
SN6's two orbit directions. Four polarisations (HH, HV, VH, VV) get their own reflectivity ratios (double bounce is
strongest in HH, volume scattering in cross-pol) and independent 4-look speckle; bands are stored in dB as float32,
like SN6's SAR-Intensity. Footprints are written as GeoJSON polygons in the tile's CRS (UTM 31N, 0.5 m pixels) and
the GeoTIFF carries ModelTiepoint/ModelPixelScale/GeoKey tags. Deterministic by seed.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from sarhub.data.rasterize import rasterize
from sarhub.data.synthetic.scenes import cached_simulation
from sarhub.data.synthetic.speckle import smooth_field, speckle, textured_reflectivity, to_db

PREFIX = "SN6_Train_AOI_11_Rotterdam"
EPSG = 32631  # WGS 84 / UTM zone 31N, the CRS of SN6's Rotterdam tiles
PIXEL_SIZE = 0.5  # metres
ORIGIN = (594000.0, 5758000.0)  # upper-left corner of tile 0 (Rotterdam)
# (timestamp, sensor side): two acquisitions looking from opposite sides
COLLECTS = (("20190804111224_20190804111453", "left"), ("20190823162315_20190823162606", "right"))
# reflectivity ratio to HH of (HV/VH, VV) per scatterer: surface, volume (vegetation), roof, double bounce
POL_RATIOS = {"ground": (0.15, 0.9), "vegetation": (0.45, 0.9), "roof": (0.2, 0.8), "bounce": (0.05, 0.35)}


def _rect(cy: float, cx: float, half_len: float, half_wid: float, angle: float) -> np.ndarray:
    """Corners (4×2, pixel col/row) of a rotated rectangle."""
    c, s = np.cos(angle), np.sin(angle)
    u = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=np.float64) * [half_len, half_wid]
    return np.stack([cx + c * u[:, 0] - s * u[:, 1], cy + s * u[:, 0] + c * u[:, 1]], axis=1)


def _sweep(corners: np.ndarray, dx: float) -> np.ndarray:
    """Convex polygon swept by a convex footprint moving `dx` pixels along the rows (range direction)."""
    from scipy.spatial import ConvexHull

    points = np.concatenate([corners, corners + [dx, 0.0]])
    return points[ConvexHull(points).vertices]


def simulate_urban(rng: np.random.Generator, size: int = 128, side: str = "left", looks: float = 4.0
                   ) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """One tile: (intensity 4×H×W float64 in HH/HV/VH/VV order, footprint corners in pixels, building mask H×W)."""
    if side not in ("left", "right"):
        raise ValueError("side (where the sensor looks from) must be 'left' or 'right'")
    shape = (size, size)
    hh = textured_reflectivity(rng, shape, 0.05, 0.35, 8.0)
    kind = np.zeros(shape, dtype=np.int8)  # index into POL_RATIOS
    vegetation = smooth_field(rng, shape, size / 10) > rng.uniform(0.6, 1.2)
    hh[vegetation] = textured_reflectivity(rng, shape, 0.12, 0.8, 1.5)[vegetation]
    kind[vegetation] = 1
    yy, xx = np.mgrid[:size, :size]
    grid = rng.uniform(-0.3, 0.3)  # street-grid orientation of this tile
    c, s = np.cos(grid), np.sin(grid)
    for _ in range(rng.integers(1, 4)):  # roads: dark straight bands along or across the grid
        along = rng.random() < 0.5
        dist = (-s * (xx - size / 2) + c * (yy - size / 2)) if along else (c * (xx - size / 2) + s * (yy - size / 2))
        road = np.abs(dist - rng.uniform(-0.45, 0.45) * size) < rng.uniform(2.0, 4.0)
        hh[road], kind[road] = 0.008 * rng.uniform(0.7, 1.3), 0
    footprints: list[np.ndarray] = []
    boxes: list[tuple[float, float, float, float]] = []
    shadows, layovers, bounces = [], [], []
    sign = -1.0 if side == "left" else 1.0  # layover extends towards the sensor, shadow away from it
    roof_level = np.zeros(shape)
    target = int(rng.poisson(size * size / 1500)) + 1
    for _ in range(10 * target):
        if len(footprints) == target:
            break
        half_len, half_wid = rng.uniform(5, 14), rng.uniform(4, 9)
        cy, cx = rng.uniform(0, size, 2)
        corners = _rect(cy, cx, half_len, half_wid, grid + (np.pi / 2 if rng.random() < 0.5 else 0.0))
        lo, hi = corners.min(0) - 3, corners.max(0) + 3
        if any(lo[0] < b[2] and b[0] < hi[0] and lo[1] < b[3] and b[1] < hi[1] for b in boxes):
            continue  # keep footprints apart (3 px margin)
        boxes.append((lo[0], lo[1], hi[0], hi[1]))
        footprints.append(corners)
        height = rng.uniform(0.4, 1.0)
        shadows.append([_sweep(corners, -sign * (2 + 6 * height))])
        layovers.append([_sweep(corners, sign * (2 + 7 * height))])
        bounces.append([_sweep(corners, sign * 1.5)])
        roof_level[rasterize([[corners]], shape).astype(bool)] = rng.uniform(0.2, 0.45)
    mask = rasterize([[c] for c in footprints], shape)
    roof = mask.astype(bool)
    shadow = rasterize(shadows, shape).astype(bool) & ~roof
    hh[shadow], kind[shadow] = 0.004, 0
    hh[roof] = (roof_level * textured_reflectivity(rng, shape, 1.0, 0.5, 2.0))[roof]
    kind[roof] = 2
    layover = rasterize(layovers, shape).astype(bool) & ~roof
    hh[layover] += textured_reflectivity(rng, shape, 0.9, 0.6, 2.0)[layover]
    kind[layover] = 2
    bounce = rasterize(bounces, shape).astype(bool) & ~roof
    hh[bounce], kind[bounce] = 3.0 * rng.uniform(0.5, 1.5), 3
    ratios = np.array(list(POL_RATIOS.values()))  # kinds × (cross, vv)
    hv, vv = hh * ratios[kind, 0], hh * ratios[kind, 1]
    intensity = np.stack([speckle(rng, r, looks) for r in (hh, hv, hv, vv)])
    return intensity, footprints, mask


def write_spacenet6_like(root: str | Path, n_tiles: int = 24, size: int = 128, seed: int = 0) -> Path:
    """Write `n_tiles` simulated tiles in the SpaceNet6 layout under `root` (used as the AOI folder); returns root.

    `SAR-Intensity/<PREFIX>_SAR-Intensity_<timestamp>_tile_<n>.tif` (4-band float32 dB, georeferenced) and
    `geojson_buildings/<PREFIX>_Buildings_<timestamp>_tile_<n>.geojson` (UTM 31N footprints).
    """
    import tifffile

    root = Path(root)
    (root / "SAR-Intensity").mkdir(parents=True, exist_ok=True)
    (root / "geojson_buildings").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    per_row = 8
    for k in range(n_tiles):
        timestamp, side = COLLECTS[k % len(COLLECTS)]
        intensity, footprints, _ = simulate_urban(rng, size, side)
        x0 = ORIGIN[0] + (k % per_row) * size * PIXEL_SIZE
        y0 = ORIGIN[1] - (k // per_row) * size * PIXEL_SIZE
        name = f"{timestamp}_tile_{1000 + k}"
        geokeys = (1, 1, 0, 4, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, EPSG, 3076, 0, 1, 9001)
        tifffile.imwrite(
            root / "SAR-Intensity" / f"{PREFIX}_SAR-Intensity_{name}.tif", to_db(intensity),
            photometric="minisblack", planarconfig="separate",
            extratags=[(33550, "d", 3, (PIXEL_SIZE, PIXEL_SIZE, 0.0), True),
                       (33922, "d", 6, (0.0, 0.0, 0.0, x0, y0, 0.0), True),
                       (34735, "H", len(geokeys), geokeys, True)],
        )
        features = []
        for i, corners in enumerate(footprints):
            ring = [[x0 + col * PIXEL_SIZE, y0 - row * PIXEL_SIZE] for col, row in corners]
            features.append({"type": "Feature", "properties": {"TileBuildingId": i},
                             "geometry": {"type": "Polygon", "coordinates": [ring + ring[:1]]}})
        crs = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{EPSG}"}}
        doc = {"type": "FeatureCollection", "crs": crs, "features": features}
        (root / "geojson_buildings" / f"{PREFIX}_Buildings_{name}.geojson").write_text(json.dumps(doc))
    return root


def simulated_spacenet6_root(n_tiles: int = 60, size: int = 128, seed: int = 0) -> Path:
    """The embedded default SpaceNet6 stand-in: written once under the cache folder (keyed by parameters)."""
    params = {"n_tiles": n_tiles, "size": size, "seed": seed, "version": 1}
    return cached_simulation("spacenet6", params, lambda root: write_spacenet6_like(root, n_tiles, size, seed))
