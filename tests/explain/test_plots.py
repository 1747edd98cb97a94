"""The explaining figures: Figure 10's trend slopes returned with the plot, and every figure written as a PNG."""
import numpy as np
import pytest
from PIL import Image

from sarhub.explain import plots


def test_counts_vs_b_returns_the_trend_slopes_it_draws(tmp_path):
    bs = [0.25, 0.3, 0.4, 0.5]
    counts = {"final": {"target": [10, 9, 7, 5], "shadow": [3, 3, 3, 3]}}
    slopes = plots.counts_vs_b(bs, counts, tmp_path / "figures" / "fig10.png")
    assert slopes["final"]["target"] == pytest.approx(-20.0, abs=0.5) and slopes["final"]["shadow"] == pytest.approx(0)
    assert Image.open(tmp_path / "figures" / "fig10.png").format == "PNG"


def test_kp_maps_curves_and_previews_are_written(tmp_path):
    image = np.random.default_rng(0).random((32, 32))
    entropy = np.array([[0.0, 2.0], [2.0, 2.0]])
    regions = {"target": np.array([[True, False], [False, False]]), "shadow": np.zeros((2, 2), bool),
               "clutter": np.array([[False, True], [True, True]])}
    plots.kp_maps(image, entropy, regions, [0.25, 0.5], tmp_path / "kp.png", title="final")
    plots.loss_curves({"final": [{"total": 1.0, "feature": 0.5, "entropy": -1.0}] * 3}, tmp_path / "loss.png")
    plots.counts_over_checkpoints(["e1", "e2"], {"final": {"target": [1, 2], "shadow": [0, 1]}}, tmp_path / "c.png")
    masks = [{"target": regions["target"].repeat(16, 0).repeat(16, 1), "shadow": np.zeros((32, 32), bool)}]
    plots.region_previews(image[None, None], masks, tmp_path / "regions.png")
    for name in ("kp.png", "loss.png", "c.png", "regions.png"):
        assert Image.open(tmp_path / name).size[0] > 100, name
