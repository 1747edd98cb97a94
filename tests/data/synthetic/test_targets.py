"""The simulated MSTAR chips: magnitude in [0, 1] with a bright target and a dark shadow that never overlap."""
import numpy as np

from sarhub.data.synthetic.targets import simulate_chip
from sarhub.data.targets import magnitude_to_unit


def test_magnitude_conversion_and_simulator_masks():
    img, target, shadow = simulate_chip(np.random.default_rng(0), 3)
    assert img.max() == 1.0 and target.any() and shadow.any() and not (target & shadow).any()
    assert img[target].mean() > 3 * img[shadow].mean()
    assert magnitude_to_unit(np.array([[0.0, 2.0]])).tolist() == [[0.0, 1.0]]
