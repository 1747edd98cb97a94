"""What the SAR–optical fusion pipeline shares: the train/test patch split (SEN12MS patches, or real unlabelled
fragment pairs split by whole fragments), patches with their cached super-pixel maps, and frozen per-pixel feature
extraction."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from sarhub.data.s1s2_pairs import PairedPatches, is_pairs_root, list_pairs, split_fragments
from sarhub.data.sen12ms import SEN12MSDataset, split_files
from sarhub.data.synthetic.sar_optical import simulated_sen12ms_root
from sarhub.data.synthetic.scenes import cache_dir
from sarhub.errors import DataError
from sarhub.fusion.models import FusionNet
from sarhub.fusion.superpixels import superpixel_maps


def splits(data_root: str | Path | None, test_root: str | Path | None = None, test_fraction: float = 0.3,
           split_seed: int = 0, modalities=("s1", "s2"), labels: str | None = None, patch: int = 256,
           stride: int | None = None, stats: dict | None = None):
    """(train, test) datasets: `test_root` if given, else a seeded split of `data_root`; without a data root the
    simulated SEN12MS stand-in (split the same way). A root with sar/ and opt/ folders is read as unlabelled
    fragment pairs (`PairedPatches`, `patch`² windows every `stride` px), split by whole fragments; both sets take
    `stats` (a trained model's input standardisation) or else the training fragments' own."""
    if data_root is not None and is_pairs_root(data_root):
        return pair_splits(data_root, test_root, test_fraction, split_seed, labels, patch, stride, stats)
    if data_root is None:
        root, test_root = simulated_sen12ms_root(), None
    else:
        root, test_root = Path(data_root), Path(test_root) if test_root else None
    if test_root is not None:
        return (SEN12MSDataset(root, modalities, labels), SEN12MSDataset(test_root, modalities, labels))
    train, test = split_files(SEN12MSDataset(root, modalities, labels).s1_files, test_fraction, split_seed)
    return SEN12MSDataset(root, modalities, labels, train), SEN12MSDataset(root, modalities, labels, test)


def pair_splits(data_root: str | Path, test_root: str | Path | None, test_fraction: float, split_seed: int,
                labels: str | None, patch: int, stride: int | None, stats: dict | None
                ) -> tuple[PairedPatches, PairedPatches]:
    """Real fragment pairs: held-out whole fragments (or every fragment of `test_root`) against the rest."""
    if labels:
        raise DataError(data_root, f"these SAR/optical pairs have no labels (--labels {labels} needs SEN12MS/DFC2020)")
    if test_root is not None:
        train = PairedPatches(data_root, None, patch, stride, stats)
        return train, PairedPatches(test_root, None, patch, stride, train.stats)
    train_names, test_names = split_fragments(list(list_pairs(data_root)), test_fraction, split_seed)
    train = PairedPatches(data_root, train_names, patch, stride, stats)
    return train, PairedPatches(data_root, test_names, patch, stride, train.stats)


class PatchesWithSuperpixels(Dataset):
    """SEN12MS patches plus their Felzenszwalb map ("segments"), computed once on the optical RGB and cached."""

    def __init__(self, patches: SEN12MSDataset | PairedPatches, scale: float = 40.0, sigma: float = 0.8, min_size: int = 20):
        self.patches = patches
        self.maps = superpixel_maps(patches.patch_keys(), patches.optical_rgb, cache_dir() / "superpixels", scale, sigma, min_size)

    def __len__(self) -> int:
        return len(self.patches)

    def __getitem__(self, index: int) -> dict:
        return {**self.patches[index], "segments": torch.from_numpy(self.maps[index].astype(np.int64))}


@torch.no_grad()
def pixel_features(model: FusionNet, dataset: SEN12MSDataset, device: torch.device, batch_size: int = 8):
    """Yield (features B×C×H×W, batch dict) over a dataset with the model frozen."""
    for batch in DataLoader(dataset, batch_size=batch_size):
        s1 = batch["s1"].to(device) if "s1" in batch else None
        s2 = batch["s2"].to(device) if "s2" in batch else None
        yield model.features(s1, s2), batch


def pixel_rows(maps: torch.Tensor) -> torch.Tensor:
    """B×C×H×W maps → (B·H·W)×C rows, pixels in row-major order image by image."""
    return maps.permute(0, 2, 3, 1).reshape(-1, maps.shape[1])


@torch.no_grad()
def sample_pixels(model: FusionNet, dataset: SEN12MSDataset, device: torch.device, per_patch: int, seed: int = 0,
                  ignore_index: int = 255) -> tuple[torch.Tensor, torch.Tensor]:
    """Features and labels of `per_patch` random labelled pixels of every patch (the linear probe's training set)."""
    g = torch.Generator().manual_seed(seed)
    xs, ys = [], []
    for feats, batch in pixel_features(model, dataset, device):
        f = feats.permute(0, 2, 3, 1).reshape(feats.shape[0], -1, feats.shape[1]).cpu()
        masks = batch["mask"].reshape(feats.shape[0], -1)
        for fi, mi in zip(f, masks):
            valid = torch.nonzero(mi != ignore_index).flatten()
            pick = valid[torch.randperm(len(valid), generator=g)[:per_patch]]
            xs.append(fi[pick])
            ys.append(mi[pick])
    return torch.cat(xs), torch.cat(ys)
