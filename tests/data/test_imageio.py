"""Reading image files as arrays and mapping storage formats to grey [0, 1], with errors that name the file."""
import os

import numpy as np
import pytest

from sarhub.data.imageio import grey_unit, read_raster, to_unit_range
from sarhub.errors import DataError


def test_npz_renamed_npy_is_named(tmp_path):
    np.savez(tmp_path / "x.npz", a=np.zeros((4, 4)))
    os.rename(tmp_path / "x.npz", tmp_path / "x.npy")
    with pytest.raises(DataError, match="x.npy: is an .npz archive"):
        read_raster(tmp_path / "x.npy")


def test_storage_formats_map_to_unit_grey_and_others_are_refused():
    assert to_unit_range(np.array([[0, 255]], np.uint8), "u8").tolist() == [[0.0, 1.0]]
    assert to_unit_range(np.array([[0, 65535]], np.uint16), "u16").tolist() == [[0.0, 1.0]]
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[..., 0] = 255  # pure red: BT.601 luma 0.299
    assert grey_unit(rgb, "rgb") == pytest.approx(np.full((8, 8), 0.299))
    slc = np.array([[3 + 4j, 0]], np.complex64)
    assert grey_unit(slc, "slc", amplitude_scale=10.0).tolist() == [[0.5, 0.0]]  # |z| / scale
    with pytest.raises(DataError, match=r"f.npy: float values must lie in \[0, 1\]"):
        to_unit_range(np.array([[0.0, 2.0]], np.float32), "f.npy")
    with pytest.raises(DataError, match="i.npy: unsupported dtype int32"):
        to_unit_range(np.zeros((2, 2), np.int32), "i.npy")
