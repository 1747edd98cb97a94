"""Simulated SAR physics: L-look speckle moments, unit-std texture fields, shapes and dB conversion."""
import numpy as np
import pytest

from sarhub.data.synthetic.speckle import disk, rotated_rect, smooth_field, speckle, textured_reflectivity, to_db


def test_speckle_has_mean_one_and_variance_one_over_looks():
    rng = np.random.default_rng(0)
    for looks in (1.0, 4.0):
        s = speckle(rng, np.full((400, 400), 2.0), looks) / 2.0
        assert s.mean() == pytest.approx(1.0, abs=0.01) and s.var() == pytest.approx(1 / looks, rel=0.03)


def test_fields_and_reflectivity_are_seeded_normalised_and_positive():
    a = smooth_field(np.random.default_rng(3), (32, 48), scale=4.0)
    assert a.shape == (32, 48) and a.mean() == pytest.approx(0, abs=1e-9) and a.std() == pytest.approx(1)
    assert np.array_equal(a, smooth_field(np.random.default_rng(3), (32, 48), scale=4.0))
    r = textured_reflectivity(np.random.default_rng(3), (32, 32), mean=0.2, contrast=0.5, scale=3.0)
    assert r.min() > 0 and r.mean() == pytest.approx(0.2)


def test_shapes_and_decibels():
    assert disk((9, 9), 4, 4, 2, 2).sum() == 13  # the lattice points within radius 2
    along = rotated_rect((9, 9), 4, 4, half_len=3.5, half_wid=1.5, angle=0.0)
    assert along.sum() == 7 * 3 and along[4].sum() == 7  # the long side along x at angle 0
    assert np.array_equal(rotated_rect((9, 9), 4, 4, 3.5, 1.5, np.pi / 2), along.T)
    assert to_db(np.array([1.0, 100.0, 0.0])).tolist() == [0.0, 20.0, -60.0]  # dark pixels floored at 1e-6
