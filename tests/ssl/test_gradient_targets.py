"""SAR gradient-feature targets: the edge is found, gain does not matter, patches are cut like ViT tokens."""
import pytest
import torch

from sarhub.ssl.gradient_targets import gradient_features, half_window_sums, patch_targets


def step_edge(gain=1.0):
    x = torch.full((1, 1, 64, 64), 0.2 * gain)
    x[..., 32:] = 2.0 * gain
    return x


def test_half_window_sums_by_hand():
    x = torch.arange(49, dtype=torch.float32).view(1, 1, 7, 7)
    left, right, top, bottom = half_window_sums(x, 1)
    # pixel (3, 3), r = 1: left = column 2 rows 2..4, right = column 4 rows 2..4
    assert left[0, 0, 3, 3].item() == 16 + 23 + 30
    assert right[0, 0, 3, 3].item() == 18 + 25 + 32
    assert top[0, 0, 3, 3].item() == 16 + 17 + 18 and bottom[0, 0, 3, 3].item() == 30 + 31 + 32


def test_step_edge_peak_is_at_the_edge_for_every_scale():
    f = gradient_features(step_edge())
    assert f.shape == (1, 3, 64, 64)
    profile = f[0, :, 40, :]
    assert set(profile.argmax(dim=1).tolist()) <= {31, 32}
    assert torch.all(profile[:, 0] < 1e-6) and torch.all(profile[:, -1] < 1e-6)  # flat far from the edge


def test_target_is_invariant_to_multiplicative_gain():
    rng = torch.Generator().manual_seed(0)
    x = torch.rand(2, 1, 64, 64, generator=rng) * 5 + 1.0  # values well above the 0.01 offset
    a, b = gradient_features(x), gradient_features(30.0 * x)
    assert torch.allclose(a, b, atol=2e-3)
    assert torch.allclose(patch_targets(a, 16), patch_targets(b, 16), atol=2e-2)


def test_patch_targets_follow_token_order_and_are_normalised():
    f = torch.arange(2 * 8 * 8, dtype=torch.float32).view(1, 2, 8, 8)
    t = patch_targets(f, 4, normalise=False)
    assert t.shape == (1, 4, 2 * 16)
    assert t[0, 1, :4].tolist() == [4, 5, 6, 7]  # second token = top-right patch, scale 0, first row
    n = patch_targets(f, 4)
    assert torch.allclose(n.mean(-1), torch.zeros(1, 4), atol=1e-5)
    with pytest.raises(ValueError, match="multiple of the patch"):
        patch_targets(torch.zeros(1, 1, 10, 10), 4)
