"""Masked image modelling: the right number of visible tokens, a loss over masked patches only, the cached-target
path equals the on-the-fly one, one feature vector per image."""
import pytest
import torch

from sarhub.ssl.gradient_targets import gradient_features
from sarhub.ssl.mae import GradientMAE, random_masking


@pytest.fixture(scope="module")
def mae():
    torch.manual_seed(0)
    return GradientMAE("vit_tiny", img_size=64, patch_size=16, decoder_dim=64, decoder_depth=1, decoder_heads=4)


def test_random_masking_keeps_a_quarter_of_the_tokens():
    tokens = torch.arange(2 * 16 * 3, dtype=torch.float32).view(2, 16, 3)
    kept, mask, restore = random_masking(tokens, 0.75)
    assert kept.shape == (2, 4, 3) and mask.sum(dim=1).tolist() == [12, 12]
    for b in range(2):  # the kept tokens are exactly the unmasked ones
        visible = tokens[b][mask[b] == 0]
        assert sorted(visible[:, 0].tolist()) == sorted(kept[b, :, 0].tolist())


def test_loss_counts_masked_patches_only(mae):
    x = torch.rand(2, 1, 64, 64) + 0.5
    g = torch.Generator().manual_seed(1)
    loss, pred, mask = mae(x, generator=g)
    target = mae.targets(x)
    # changing the prediction target on visible patches does not change the loss
    per_patch = ((pred - target) ** 2).mean(-1)
    assert loss.item() == pytest.approx(((per_patch * mask).sum() / mask.sum()).item(), rel=1e-5)
    assert pred.shape == (2, 16, 3 * 16 * 16) and mask.sum().item() == 2 * 12


def test_cached_feature_maps_give_the_same_loss(mae):
    x = torch.rand(2, 1, 64, 64)
    a = mae(x, generator=torch.Generator().manual_seed(3))[0]
    b = mae(x, gradient_features(x).half(), generator=torch.Generator().manual_seed(3))[0]
    assert a.item() == pytest.approx(b.item(), rel=1e-2)


def test_features_are_one_vector_per_image(mae):
    assert mae.features(torch.rand(3, 1, 64, 64)).shape == (3, mae.encoder.embed_dim)
