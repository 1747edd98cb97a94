"""Super-pixel means over hand-made segment maps."""
import pytest
import torch

from sarhub.fusion.superpixels import superpixel_means


def test_superpixel_means_are_exact_means_over_a_hand_made_map():
    seg = torch.tensor([[[0, 0, 1], [0, 2, 1], [2, 2, 1]]])
    feats = torch.arange(9, dtype=torch.float32).reshape(1, 1, 3, 3).repeat(1, 2, 1, 1)
    feats[:, 1] *= 10
    means, present = superpixel_means(feats, seg, num_segments=4)
    assert present.tolist() == [True, True, True, False]
    assert means[0].tolist() == pytest.approx([(0 + 1 + 3) / 3, 10 * (0 + 1 + 3) / 3])
    assert means[1].tolist() == pytest.approx([(2 + 5 + 8) / 3, 10 * (2 + 5 + 8) / 3])
    assert means[2].tolist() == pytest.approx([(4 + 6 + 7) / 3, 10 * (4 + 6 + 7) / 3])
    # a second image's segments are kept apart
    both, present = superpixel_means(feats.repeat(2, 1, 1, 1), torch.cat([seg, seg * 0]), num_segments=4)
    assert present.tolist() == [True, True, True, False, True, False, False, False]
    assert both[4, 0].item() == pytest.approx(4.0)
