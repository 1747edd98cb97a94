"""Statistics of the benchmark tables: mean and sd, bootstrap confidence intervals, paired segmentation differences."""
import numpy as np
import pytest
import torch

from sarhub.metrics.bootstrap import bootstrap_mean_ci, mean_sd, segmentation_difference


def test_statistics_match_a_hand_computation():
    assert mean_sd([1.0, 2.0, 4.0]) == pytest.approx((7 / 3, np.std([1, 2, 4], ddof=1)))
    diffs = [2.0, 3.0, 7.0]
    mean, lo, hi = bootstrap_mean_ci(diffs, draws=20000, seed=0)
    rng = np.random.default_rng(0)
    means = np.asarray(diffs)[rng.integers(0, 3, size=(20000, 3))].mean(axis=1)
    assert (mean, lo, hi) == pytest.approx((4.0, np.quantile(means, 0.025), np.quantile(means, 0.975)))
    assert 2.0 <= lo < mean < hi <= 7.0
    a = torch.tensor([[[5, 0], [0, 5]], [[5, 0], [0, 5]]])  # two images, both perfect
    b = torch.tensor([[[5, 0], [5, 0]], [[5, 0], [0, 5]]])  # the first image misses its target
    diff, lo, hi = segmentation_difference(a, b, "miou", draws=200)
    full_b = 100 * (10 / 15 + 5 / 10) / 2  # IoU background 10/15, target 5/10 of b summed
    assert diff == pytest.approx(100 - full_b) and lo >= 0 and hi <= 100
