"""Knowledge points: Eq. (10) by hand, σ grows where the model does not look, KP counting on hand-made maps."""
import math

import pytest
import torch
from torch import nn

from sarhub.explain.kp import ENTROPY_C, count_kps, explain, kp_loss, trend_slope


def test_kp_loss_matches_hand_computation():
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])  # 1×1×2×2, a 2×2 grid of 1-pixel units
    f = lambda t: 2.0 * t  # noqa: E731  a linear "model"
    log_sigma = torch.log(torch.tensor([[[0.1, 0.2], [0.3, 0.4]]]))
    eps = torch.tensor([[[[1.0, -1.0], [0.5, 2.0]]]])
    total, feat, ent = kp_loss(f, x, log_sigma, lam=0.25, noise=eps)
    change = ((2 * torch.tensor([0.1, -0.2, 0.15, 0.8])) ** 2).mean()  # f(x') − f(x) = 2·σ·ε
    variance = torch.tensor([2.0, 4.0, 6.0, 8.0]).var()  # unbiased variance of f(x), as torch.var
    entropy = sum(math.log(s) for s in (0.1, 0.2, 0.3, 0.4)) / 4 + ENTROPY_C
    assert feat.item() == pytest.approx((change / variance).item(), rel=1e-6)
    assert ent.item() == pytest.approx(entropy, rel=1e-6)
    assert total.item() == pytest.approx((change / variance).item() - 0.25 * entropy, rel=1e-6)


class CentreModel(nn.Module):
    """A frozen 'model' whose feature is the central 8×8 pixels only."""

    def forward_features(self, x):
        return x[..., 12:20, 12:20] * 3.0

    def forward(self, x):
        return self.forward_features(x).mean(dim=(1, 2, 3))


def test_sigma_grows_where_the_model_does_not_look():
    torch.manual_seed(0)
    images = torch.rand(4, 1, 32, 32)
    result = explain(CentreModel(), images, grid=4, lam=0.25, steps=150, lr=1e-2, weight_decay=0.0, width=8)
    ent = result.entropy.mean(dim=0)  # 4×4 units of 8×8 pixels; the model sees units (1..2, 1..2)
    centre = ent[1:3, 1:3].mean()
    border = torch.cat([ent[0], ent[3], ent[1:3, 0], ent[1:3, 3]]).mean()
    assert border > centre + 1.0
    regions = {"clutter": torch.ones(4, 4, 4, dtype=torch.bool), "centre": torch.zeros(4, 4, 4, dtype=torch.bool)}
    regions["centre"][:, 1:3, 1:3] = True
    regions["clutter"][:, 1:3, 1:3] = False
    counts = count_kps(result.entropy, regions, [0.3])
    # every centre unit is a KP, at most a third of the 12 border units (which ones varies with the thread count)
    assert counts["centre"][:, 0].min() == 4 and counts["clutter"][:, 0].max() <= 4
    assert len(result.history) == 150 and result.history[-1]["total"] < result.history[0]["total"]


def test_kp_counting_on_a_hand_made_sigma_map():
    entropy = torch.tensor([[[0.0, 1.0], [2.0, 2.2]]])  # clutter units: bottom row, baseline 2.1
    regions = {"target": torch.tensor([[[True, False], [False, False]]]),
               "shadow": torch.tensor([[[False, True], [False, False]]]),
               "clutter": torch.tensor([[[False, False], [True, True]]])}
    counts = count_kps(entropy, regions, [0.25, 1.5])
    # b = 0.25: threshold 1.85 -> target (0.0) and shadow (1.0) are KPs; b = 1.5: threshold 0.6 -> target only
    assert counts["target"].tolist() == [[1, 1]] and counts["shadow"].tolist() == [[1, 0]]
    assert counts["clutter"].tolist() == [[0, 0]]
    assert trend_slope([0.25, 0.3, 0.4, 0.5], [10, 9, 7, 5]) == pytest.approx(-20.0, abs=0.5)
