"""Reading SAR rasters (GeoTIFF, PNG, JPEG, BMP, .npy) into float32 arrays with errors that name the file."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from sarhub.errors import DataError

IMAGE_EXTENSIONS = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp", ".npy")


def read_raster(path: str | Path) -> np.ndarray:
    """Read an image file as it is stored (dtype kept): H×W or H×W×C for TIFF/PNG/JPEG/BMP, any array for .npy.

    Raises DataError naming the file when it is missing, unreadable or empty.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            array = np.load(path, allow_pickle=False)
            if not isinstance(array, np.ndarray):  # an .npz archive renamed .npy loads as a lazy NpzFile
                array.close()
                raise DataError(path, "is an .npz archive, not a .npy array")
        elif suffix in (".tif", ".tiff"):
            import tifffile

            array = tifffile.imread(path)
        else:
            from PIL import Image

            with Image.open(path) as image:
                array = np.asarray(image)
    except DataError:
        raise
    except Exception as exc:  # every decoder raises its own type; the user needs the file name
        raise DataError(path, f"cannot be read as an image ({type(exc).__name__}: {exc})") from exc
    if array.size == 0:
        raise DataError(path, "image is empty")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise DataError(path, f"unsupported dtype {array.dtype} (expected numbers)")
    return array


def to_unit_range(array: np.ndarray, path: str | Path) -> np.ndarray:
    """Map stored values to float32 in [0, 1]: uint8 /255, uint16 /65535, floats must already lie in [0, 1].

    This is the storage convention of the authors' pre-processed .npy files; anything else is an error.
    """
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    if array.dtype == np.uint16:
        return array.astype(np.float32) / 65535.0
    if not np.issubdtype(array.dtype, np.floating):
        raise DataError(path, f"unsupported dtype {array.dtype} (expected uint8, uint16 or float in [0, 1])")
    array = array.astype(np.float32, copy=False)
    check_finite(array, path)
    lo, hi = float(array.min()), float(array.max())
    if lo < -1e-6 or hi > 1 + 1e-6:
        raise DataError(path, f"float values must lie in [0, 1], found [{lo:.4g}, {hi:.4g}]")
    return np.clip(array, 0.0, 1.0)


def check_finite(array: np.ndarray, path: str | Path) -> None:
    """Raise DataError when an array holds NaN or ±inf (one bad pixel poisons a whole batch's gradients)."""
    if not np.isfinite(array).all():
        bad = int((~np.isfinite(array)).sum())
        raise DataError(path, f"contains {bad} NaN/inf value(s)")


def minmax(array: np.ndarray) -> np.ndarray:
    """Per-image min–max to [0, 1] in float32 (a constant image maps to zeros)."""
    array = array.astype(np.float32, copy=False)
    lo, hi = float(array.min()), float(array.max())
    return (array - lo) / (hi - lo) if hi > lo else np.zeros_like(array)
