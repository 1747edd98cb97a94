"""SAR intensity to network input: per-channel percentile stretch, dB conversion with no-data kept at 0, polarisation
bands and the span."""
import numpy as np
import pytest

from sarhub.data.radiometry import db_stretch, intensity_db, select_polarisation, to_unit
from sarhub.errors import DataError


def test_percentile_stretch_maps_each_channel_to_unit_range_and_zeroes_invalid_pixels():
    db = np.stack([np.arange(101, dtype=np.float64), np.full(101, 7.0)]).reshape(2, 1, 101)
    out = db_stretch(db, percentiles=(10.0, 90.0))
    assert out.dtype == np.float32 and out[0, 0, 50] == pytest.approx(0.5)
    assert out[0, 0, :11].max() == 0 and out[0, 0, 90:].min() == 1 and not out[1].any()  # a flat channel is 0
    valid = np.ones((1, 101), bool)
    valid[0, 0] = False
    assert db_stretch(db, valid)[0, 0, 0] == 0


def test_linear_intensity_becomes_db_with_no_data_kept_and_negatives_refused():
    raw = np.array([[[0.0, 1.0, 100.0]], [[0.0, 10.0, 0.0]]])
    db, valid = intensity_db(raw, "linear", "tile.tif")
    assert db[0].tolist() == [[0.0, 0.0, 20.0]] and db[1].tolist() == [[0.0, 10.0, 0.0]]
    assert valid.tolist() == [[False, True, True]]  # 0 in every band: no-data
    with pytest.raises(DataError, match="tile.tif: linear intensity cannot be negative"):
        intensity_db(-raw, "linear", "tile.tif")
    assert to_unit(np.array([[[0, 255]]], np.uint8), "unit", "u8.tif").tolist() == [[[0.0, 1.0]]]


def test_polarisation_bands_and_span():
    db = np.stack([np.full((2, 2), v) for v in (10.0, 20.0, 20.0, 10.0)])  # HH, HV, VH, VV
    db[:, 0, 0] = 0.0  # a no-data pixel
    assert select_polarisation(db, ("VV", "hv"), "t.tif")[:, 1, 1].tolist() == [10.0, 20.0]
    span = select_polarisation(db, "span", "t.tif")[0]
    assert span[1, 1] == pytest.approx(10 * np.log10((10 + 100 + 100 + 10) / 4)) and span[0, 0] == 0
    with pytest.raises(ValueError, match="unknown polarisation 'RR'"):
        select_polarisation(db, "RR", "t.tif")
    with pytest.raises(DataError, match="t.tif: expected 4 bands"):
        select_polarisation(db[:3], "HH", "t.tif")
