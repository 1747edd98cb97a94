"""What the `sar_optical/` scripts share: the train/test patch split, patches with their cached super-pixel maps,
a fusion model rebuilt from its checkpoint, and frozen per-pixel feature extraction."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from sarhub.data.sen12ms import SEN12MSDataset, split_files
from sarhub.data.synthetic.scenes import cache_dir
from sarhub.fusion.models import FusionNet
from sarhub.fusion.superpixels import superpixel_maps


def add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--labels", default="lc", choices=("lc", "dfc"), help="SEN12MS IGBP (lc) or DFC2020 (dfc) labels")
    p.add_argument("--test-root", default=None, help="separate test folder (e.g. DFC2020 test); default: a split")
    p.add_argument("--test-fraction", type=float, default=0.3, help="held-out share of --data-root when no test root")
    p.add_argument("--split-seed", type=int, default=0)


def data_roots(args: argparse.Namespace) -> tuple[Path, Path | None]:
    if args.data_root is None:
        from sarhub.data.synthetic.sar_optical import simulated_sen12ms_root

        return simulated_sen12ms_root(), None
    return Path(args.data_root), Path(args.test_root) if args.test_root else None


def splits(args: argparse.Namespace, modalities=("s1", "s2"), labels: str | None = None
           ) -> tuple[SEN12MSDataset, SEN12MSDataset]:
    """(train, test) datasets: --test-root if given, else a seeded split of --data-root (split by patch)."""
    root, test_root = data_roots(args)
    if test_root is not None:
        return (SEN12MSDataset(root, modalities, labels), SEN12MSDataset(test_root, modalities, labels))
    train, test = split_files(SEN12MSDataset(root, modalities, labels).s1_files, args.test_fraction, args.split_seed)
    return SEN12MSDataset(root, modalities, labels, train), SEN12MSDataset(root, modalities, labels, test)


class PatchesWithSuperpixels(Dataset):
    """SEN12MS patches plus their Felzenszwalb map ("segments"), computed once on the optical RGB and cached."""

    def __init__(self, patches: SEN12MSDataset, scale: float = 40.0, sigma: float = 0.8, min_size: int = 20):
        self.patches = patches
        keys = [str(f.resolve()) for f in patches.s1_files]
        self.maps = superpixel_maps(keys, patches.optical_rgb, cache_dir() / "superpixels", scale, sigma, min_size)

    def __len__(self) -> int:
        return len(self.patches)

    def __getitem__(self, index: int) -> dict:
        return {**self.patches[index], "segments": torch.from_numpy(self.maps[index].astype(np.int64))}


def load_fusion_model(checkpoint: str | Path, device: torch.device) -> tuple[FusionNet, argparse.Namespace]:
    """Rebuild the FusionNet of a `sar_optical/pretrain.py` checkpoint (weights only, never code) and freeze it."""
    from sarhub.cli import load_run

    state, run = load_run(checkpoint, "strategy", "sar_optical pretrain")
    model = FusionNet(run.strategy, tuple(run.widths), run.dim)
    model.load_state_dict(state["model"])
    model.to(device).eval()
    for param in model.parameters():
        param.requires_grad_(False)
    return model, run


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
