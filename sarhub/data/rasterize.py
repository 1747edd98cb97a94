"""Polygons to label masks with GDAL's rasteriser (`rasterio.features.rasterize`): the one pixel rule of every
polygon mask in sarhub (SpaceNet6 footprints, COCO ship polygons, the urban simulator).

A pixel is inside when its centre lies inside the polygon (`all_touched=False`). Rings are in pixel (col, row)
units with pixel (0, 0) spanning [0, 1)², or in model (x, y) units mapped to pixels by `transform` (a GeoTIFF's
affine). Within one polygon, holes are cut out (even-odd rule); polygons are united. A centre exactly on an edge
(only with special vertices, e.g. integer ones on a diagonal; never with integer-cornered squares) follows GDAL's
half-open scanlines: it counts on a right or top (smaller row) edge, not on a left or bottom one. The scikit-image
fill used before counted every edge: that is the only difference (SSDD's polygons: 533 of 2.2 M ship pixels).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:
    from affine import Affine

Polygon = Sequence[np.ndarray]  # N×2 rings (x, y): the exterior first, then its holes


def _closed(ring: np.ndarray) -> list[list[float]]:
    """GeoJSON ring: first point repeated at the end (COCO polygons are open; rasterio wants closed rings)."""
    ring = np.asarray(ring, dtype=np.float64)[:, :2]
    if not np.array_equal(ring[0], ring[-1]):
        ring = np.vstack([ring, ring[:1]])
    return ring.tolist()


def rasterize(polygons: Sequence[Polygon], shape: tuple[int, int], transform: Affine | None = None) -> np.ndarray:
    """uint8 0/1 mask of `shape` (module docstring: pixel rule); `transform` None = rings in pixels. Polygons whose
    exterior has fewer than 3 points add nothing."""
    from rasterio.features import rasterize as burn
    from rasterio.transform import IDENTITY

    shapes = [{"type": "Polygon", "coordinates": [_closed(ring) for ring in rings if len(ring) >= 3]}
              for rings in polygons if len(rings) and len(rings[0]) >= 3]
    if not shapes:
        return np.zeros(shape, dtype=np.uint8)
    return burn(shapes, out_shape=shape, transform=IDENTITY if transform is None else transform, all_touched=False,
                fill=0, default_value=1, dtype="uint8")
