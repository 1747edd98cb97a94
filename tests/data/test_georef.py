"""Georeferencing of SpaceNet6 tiles as GDAL reads it (PixelIsArea/PixelIsPoint ties, transformation matrices), and
footprints projected to known UTM coordinates."""
import numpy as np
import pytest
import tifffile
from helpers.spacenet6_fixture import PX, X0, Y0, write_geojson, write_tile

from sarhub.data.georef import geojson_polygons, read_georef


def test_geotransforms_as_gdal_reads_them(tmp_path):
    stem = write_tile(tmp_path, 1)
    georef = read_georef(tmp_path / "SAR-Intensity" / f"{stem}.tif")
    assert tuple(georef.transform)[:6] == (PX, 0.0, X0, 0.0, -PX, Y0) and georef.crs.to_epsg() == 32631
    assert read_georef(tmp_path / "SAR-Intensity" / f"{write_tile(tmp_path, 2, geo=False)}.tif") is None
    point = (1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 2, 3072, 0, 1, 32631)  # RasterPixelIsPoint: tie at a centre
    matrix = (PX, 0.1, 0, X0, 0.1, -PX, 0, Y0, 0, 0, 0, 0, 0, 0, 0, 1)  # ModelTransformation, rotated
    for name, tags, expected in (
            ("point", [(33550, "d", 3, (PX, PX, 0.0), True), (33922, "d", 6, (0, 0, 0, X0, Y0, 0), True),
                       (34735, "H", len(point), point, True)], (PX, 0.0, X0 - PX / 2, 0.0, -PX, Y0 + PX / 2)),
            ("matrix", [(34264, "d", 16, matrix, True)], (PX, 0.1, X0, 0.1, -PX, Y0))):
        tifffile.imwrite(tmp_path / f"{name}.tif", np.zeros((4, 8, 8), np.float32), planarconfig="separate",
                         photometric="minisblack", extratags=tags)
        assert tuple(read_georef(tmp_path / f"{name}.tif").transform)[:6] == pytest.approx(expected)


def test_lonlat_footprints_are_projected_to_known_utm_coordinates(tmp_path):
    # UTM reference values: the central meridian (3°E in zone 31) maps to 500 km easting, the equator to northing 0,
    # 45°N to k0 × the WGS84 meridian arc (4 984 944.378 m); lon/lat swapped would land nowhere near these.
    stem = write_tile(tmp_path, 2)
    path = write_geojson(tmp_path, stem, [[[[3.0, 45.0], [3.0, 0.0], [2.0, 45.0], [4.0, 45.0], [3.0, 45.0]]]],
                         "urn:ogc:def:crs:OGC:1.3:CRS84")
    (ring,), = geojson_polygons(path, read_georef(tmp_path / "SAR-Intensity" / f"{stem}.tif"))
    np.testing.assert_allclose(ring[:2], [[500000.0, 0.9996 * 4984944.378], [500000.0, 0.0]], atol=0.01)
    assert ring[2, 0] - 500000 == pytest.approx(500000 - ring[3, 0]) and ring[2, 1] == pytest.approx(ring[3, 1])
