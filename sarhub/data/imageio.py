"""Reading SAR rasters (GeoTIFF, PNG, JPEG, BMP, .npy) into float32 arrays with errors that name the file, and the
pre-training input contract's first step: one grey channel in [0, 1] by storage format (`grey_unit`)."""
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


# ITU-R BT.601 luma weights (R, G, B): what PIL's convert("L") computes (it rounds to 8 bits; `grey_unit` does not).
BT601_LUMA = (0.299, 0.587, 0.114)
AMPLITUDE_SCALE = 65535.0  # complex SLC: |z| / this (the 16-bit storage scale of TSX detected products)


def grey_unit(array: np.ndarray, path: str | Path, amplitude_scale: float = AMPLITUDE_SCALE) -> np.ndarray:
    """One grey float32 H×W image in [0, 1] from a stored raster, by its storage format:

    - complex (SLC .npy): amplitude |z| / `amplitude_scale`, clipped to [0, 1];
    - uint8 / 255, uint16 / 65535; floats must already lie in [0, 1] (the authors' .npy convention);
    - 3 or 4 bands (RGB, RGBA; H×W×C or C×H×W): ITU-R BT.601 luma 0.299 R + 0.587 G + 0.114 B of the first three
      (PIL's "L" rule; alpha is dropped); 1 or 2 bands (grey, grey + alpha): the first band.

    Anything else (other integer types, other band counts, NaN/inf) raises DataError naming the file.
    """
    if np.iscomplexobj(array):
        if array.ndim != 2:
            raise DataError(path, f"expected an H×W complex image, got shape {array.shape}")
        amplitude = np.abs(array).astype(np.float64)
        check_finite(amplitude, path)
        return np.clip(amplitude / amplitude_scale, 0.0, 1.0).astype(np.float32)
    if array.ndim == 3:
        if array.shape[-1] <= 4 < array.shape[0]:
            array = np.moveaxis(array, -1, 0)
        elif not array.shape[0] <= 4 < array.shape[-1]:
            raise DataError(path, f"cannot tell the band axis of shape {array.shape} (expected H×W×C or C×H×W, "
                                  "C ≤ 4)")
        bands = to_unit_range(array, path)  # linear, so the luma of the scaled bands is the scaled luma
        if len(bands) < 3:
            return np.ascontiguousarray(bands[0])
        return (BT601_LUMA[0] * bands[0] + BT601_LUMA[1] * bands[1] + BT601_LUMA[2] * bands[2]).astype(np.float32)
    if array.ndim != 2:
        raise DataError(path, f"expected a grey or RGB image, got shape {array.shape}")
    return to_unit_range(array, path)


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
