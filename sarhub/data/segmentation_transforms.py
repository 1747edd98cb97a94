"""Joint (image, mask) transforms of segmentation training: the same geometric change applied to both, so labels stay
on their pixels. Masks mark ignored pixels (crop padding, unlabelled regions) with IGNORE_INDEX, which losses and
metrics skip. The geometry runs through torchvision.transforms.v2 on tv_tensors (`Image` resized bilinearly and
padded with 0, `Mask` by nearest neighbour and padded with IGNORE_INDEX); the mmseg draw order and the
`cat_max_ratio` crop rule, which v2 has no transform for, stay here."""
from __future__ import annotations

from typing import Callable

import torch
from torchvision import tv_tensors
from torchvision.transforms.v2 import functional as TF

from sarhub.metrics.segmentation import IGNORE_INDEX

Transform = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


class JointCompose:
    """Apply (image, mask) transforms in order, e.g. a letterbox to the input size, then TrainAugment."""

    def __init__(self, *transforms: Transform):
        self.transforms = transforms

    def __call__(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        for transform in self.transforms:
            image, mask = transform(image, mask)
        return image, mask


class TrainAugment:
    """MMSegmentation's training pipeline (the authors' setup), jointly on image (C×H×W) and mask (H×W):

    RandomResize by a ratio in `ratio_range` (bilinear image, nearest mask) -> RandomCrop `crop_size` (re-drawn up to
    10 times while one class covers more than `cat_max_ratio` of it) with padding (image 0, mask 255) when smaller
    -> horizontal flip (p=0.5) -> PhotoMetricDistortion restricted to grey levels: brightness ±32/255 and contrast
    ×[0.5, 1.5], each with p=0.5, clipped to [0, 1]. Randomness comes from torch's generator (seeded per worker).
    """

    def __init__(self, crop_size: int | tuple[int, int] = 512, ratio_range: tuple[float, float] = (0.5, 2.0),
                 flip_prob: float = 0.5, brightness: float = 32 / 255, contrast: tuple[float, float] = (0.5, 1.5),
                 cat_max_ratio: float = 0.75):
        self.crop = (crop_size, crop_size) if isinstance(crop_size, int) else tuple(crop_size)
        self.ratio_range, self.flip_prob = ratio_range, flip_prob
        self.brightness, self.contrast, self.cat_max_ratio = brightness, contrast, cat_max_ratio

    @staticmethod
    def _uniform(lo: float, hi: float) -> float:
        return lo + (hi - lo) * torch.rand(()).item()

    def __call__(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h, w = mask.shape
        ratio = self._uniform(*self.ratio_range)
        size = [max(1, int(h * ratio + 0.5)), max(1, int(w * ratio + 0.5))]
        image = TF.resize(tv_tensors.Image(image), size, antialias=False)
        mask = TF.resize(tv_tensors.Mask(mask), size)
        ch, cw = self.crop
        pad_h, pad_w = max(ch - size[0], 0), max(cw - size[1], 0)
        if pad_h or pad_w:
            image = TF.pad(image, [0, 0, pad_w, pad_h], fill=0.0)
            mask = TF.pad(mask, [0, 0, pad_w, pad_h], fill=IGNORE_INDEX)
        y, x = self._crop_origin(mask, ch, cw)
        image, mask = TF.crop(image, y, x, ch, cw), TF.crop(mask, y, x, ch, cw)
        if torch.rand(()).item() < self.flip_prob:
            image, mask = TF.horizontal_flip(image), TF.horizontal_flip(mask)
        image, mask = image.as_subclass(torch.Tensor), mask.as_subclass(torch.Tensor)
        if torch.rand(()).item() < 0.5:
            image = image + self._uniform(-self.brightness, self.brightness)
        if torch.rand(()).item() < 0.5:
            image = image * self._uniform(*self.contrast)
        return image.clamp(0.0, 1.0).contiguous(), mask.contiguous()

    def _crop_origin(self, mask: torch.Tensor, ch: int, cw: int) -> tuple[int, int]:
        h, w = mask.shape[-2:]
        for _ in range(10):
            y = int(torch.randint(h - ch + 1, ()).item())
            x = int(torch.randint(w - cw + 1, ()).item())
            if self.cat_max_ratio >= 1.0:
                break
            crop = mask[y:y + ch, x:x + cw]
            counts = torch.bincount(crop[crop != IGNORE_INDEX].flatten())
            counts = counts[counts > 0]
            if len(counts) > 1 and counts.max().item() / counts.sum().item() < self.cat_max_ratio:
                break
        return y, x
