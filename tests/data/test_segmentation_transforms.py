"""Joint image/mask augmentation of segmentation training (MMSegmentation's pipeline): aligned, padded with 255."""
import torch

from sarhub.data.segmentation_transforms import TrainAugment


def test_train_augment_is_joint_and_mmseg_like():
    torch.manual_seed(0)
    mask = torch.zeros(40, 40, dtype=torch.long)
    mask[5:25, 10:20] = 1
    image = mask[None].float()
    aligned = TrainAugment(24, ratio_range=(1.0, 1.0), brightness=0.0, contrast=(1.0, 1.0), cat_max_ratio=1.0)
    for _ in range(10):  # with no photometric change and no rescale, image and mask stay pixel-aligned
        im, m = aligned(image, mask)
        assert im.shape == (1, 24, 24) and m.shape == (24, 24)
        assert torch.equal(im[0].long(), m)
    full = TrainAugment(64)  # smaller than the crop after rescaling: padded, the mask with 255
    for _ in range(10):
        im, m = full(image, mask)
        assert im.shape == (1, 64, 64) and im.min() >= 0 and im.max() <= 1
        assert set(m.unique().tolist()) <= {0, 1, 255} and (m == 255).any()
