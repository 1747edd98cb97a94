"""Polygon rasterisation: the pixels whose centre is inside, GDAL's rule on edges, holes cut out."""
import numpy as np

from sarhub.data.rasterize import rasterize


def test_rasterize_takes_pixels_whose_centre_is_inside():
    # integer-cornered square with a hole: exactly its pixels; a half-pixel offset square: centres decide
    square = np.array([[2, 1], [7, 1], [7, 5], [2, 5]], float)
    hole = np.array([[3, 2], [5, 2], [5, 3], [3, 3]], float)
    mask = rasterize([[square, hole]], (8, 10))
    assert mask.dtype == np.uint8 and mask.sum() == 5 * 4 - 2 * 1
    expected = np.zeros((8, 10), np.uint8)
    expected[1:5, 2:7] = 1
    expected[2, 3:5] = 0
    np.testing.assert_array_equal(mask, expected)
    assert rasterize([[square + 0.4]], (8, 10)).sum() == 5 * 4 and rasterize([[square + 0.6]], (8, 10))[1, 2] == 0
    # centres exactly on an edge (GDAL's half-open scanlines): in on right and top edges, out on left and bottom
    # ones. x + y < 8: 28 centres inside, 8 on the (right) hypotenuse -> 36; x + y > 8: the 8 on its left one are out
    assert rasterize([[np.array([[0, 0], [8, 0], [0, 8]], float)]], (10, 10)).sum() == 28 + 8
    assert rasterize([[np.array([[8, 0], [8, 8], [0, 8]], float)]], (10, 10)).sum() == 28
    on_centres = rasterize([[np.array([[0.5, 0.5], [4.5, 0.5], [4.5, 4.5], [0.5, 4.5]])]], (10, 10))
    assert on_centres[:4, 1:5].all() and on_centres.sum() == 16  # rows 0-3 (top edge in), columns 1-4 (right in)
    assert rasterize([], (3, 4)).shape == (3, 4) and rasterize([[square[:2]]], (3, 4)).sum() == 0
