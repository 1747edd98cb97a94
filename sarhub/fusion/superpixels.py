"""Felzenszwalb super-pixels of the optical RGB, computed once per patch and cached, and exact per-super-pixel means.

The super-pixel maps depend on the data only, so `superpixel_maps` computes them once for a dataset and keeps them
in one .npy file under the cache folder, keyed by the patch paths and the segmentation parameters.
"""
from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from tqdm import tqdm

from sarhub.checkpoints import atomic_write


def felzenszwalb_map(rgb: np.ndarray, scale: float = 40.0, sigma: float = 0.8, min_size: int = 20) -> np.ndarray:
    from skimage.segmentation import felzenszwalb

    return felzenszwalb(rgb, scale=scale, sigma=sigma, min_size=min_size).astype(np.int32)


def superpixel_maps(keys: Sequence[str], rgb_of: Callable[[int], np.ndarray], cache: str | Path,
                    scale: float = 40.0, sigma: float = 0.8, min_size: int = 20) -> np.ndarray:
    """N×H×W int32 super-pixel ids (0..S−1 per patch) for every patch; read from `cache` when already computed."""
    params = {"keys": [str(k) for k in keys], "scale": scale, "sigma": sigma, "min_size": min_size}
    digest = hashlib.sha1(json.dumps(params).encode()).hexdigest()[:12]
    path = Path(cache) / f"felzenszwalb_{digest}.npy"
    if path.is_file():
        return np.load(path, allow_pickle=False)
    maps = np.stack([felzenszwalb_map(rgb_of(i), scale, sigma, min_size)
                     for i in tqdm(range(len(keys)), desc="super-pixels", leave=False)])
    buffer = io.BytesIO()
    np.save(buffer, maps)
    atomic_write(path, buffer.getbuffer())
    return maps


def superpixel_means(features: torch.Tensor, segments: torch.Tensor, num_segments: int) -> tuple[torch.Tensor, torch.Tensor]:
    """True mean of B×C×H×W features over each super-pixel of B×H×W ids in [0, num_segments).

    Returns (B·num_segments)×C means and a matching boolean "present" vector (super-pixels with ≥ 1 pixel);
    row b·num_segments + s is super-pixel s of image b.
    """
    b, c = features.shape[:2]
    keys = (segments.long() + num_segments * torch.arange(b, device=segments.device)[:, None, None]).flatten()
    flat = features.permute(0, 2, 3, 1).reshape(-1, c)
    sums = torch.zeros(b * num_segments, c, device=features.device, dtype=flat.dtype).index_add_(0, keys, flat)
    counts = torch.bincount(keys, minlength=b * num_segments).to(flat.dtype)
    return sums / counts.clamp_min(1)[:, None], counts > 0
