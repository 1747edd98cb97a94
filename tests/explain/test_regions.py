"""Target, shadow and clutter regions of a chip against the simulator's true masks, and their units."""
import numpy as np

from sarhub.data.synthetic.targets import simulate_chip
from sarhub.explain.regions import iou, region_masks, unit_masks


def test_region_masks_recover_simulated_target_and_shadow():
    rng = np.random.default_rng(3)
    t_iou, s_iou = [], []
    for k in range(10):
        image, target, shadow = simulate_chip(rng, k)
        m = region_masks(image)
        t_iou.append(iou(m["target"], target))
        s_iou.append(iou(m["shadow"], shadow))
        assert not (m["target"] & m["shadow"]).any()
    assert np.mean(t_iou) >= 0.6 and np.mean(s_iou) >= 0.6
    units = unit_masks(m, 16)
    assert units["target"].shape == (16, 16)
    assert not (units["target"] & units["shadow"]).any() and (units["target"] | units["shadow"] | units["clutter"]).all()
