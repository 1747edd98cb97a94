"""SAR intensity to network input: dB conversion, per-tile percentile stretch to [0, 1], polarisation choice.

SN6 tiles store 4 bands HH, HV, VH, VV of 2×2-multilooked intensity in dB (10·log10); pixels that are exactly 0 in
every band are no-data and stay 0. The "span" is the mean of the four linear intensities (total backscattered power)
back in dB: it keeps every polarisation's information and averages down speckle.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from sarhub.data.imageio import check_finite, to_unit_range
from sarhub.errors import DataError

SN6_BANDS = ("HH", "HV", "VH", "VV")


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
