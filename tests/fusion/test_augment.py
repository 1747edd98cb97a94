"""Shared geometric augmentation of SAR, optical and super-pixel maps: pixel correspondence is kept."""
import torch

from sarhub.fusion import augment


def test_shared_augmentation_keeps_pixel_correspondence():
    g = torch.Generator().manual_seed(3)
    ids = torch.arange(48 * 48).reshape(1, 48, 48).repeat(4, 1, 1)  # every pixel its own id
    image = torch.stack([ids.float(), -ids.float()], dim=1)  # a 2-channel "image" carrying the ids
    params = augment.sample_params(4, (32, 32), min_scale=0.5, generator=g)
    out_map = augment.apply(ids, params)
    out_img = augment.apply(image, params, mode="nearest")
    assert out_map.shape == (4, 32, 32) and out_img.shape == (4, 2, 32, 32)
    assert torch.equal(out_img[:, 0].long(), out_map) and torch.equal(-out_img[:, 1].long(), out_map)
    # the four samples got different transforms, and the map still holds valid ids only
    assert len({tuple(m.flatten()[:5].tolist()) for m in out_map}) > 1
    assert out_map.min() >= 0 and out_map.max() < 48 * 48
    # a pure flip (scale 1, no crop): exactly the flipped map
    flip = augment.GeometricParams(torch.tensor([[[-1.0, 0, 0], [0, 1.0, 0]]]), (48, 48))
    assert torch.equal(augment.apply(ids[:1], flip), ids[:1].flip(-1))
