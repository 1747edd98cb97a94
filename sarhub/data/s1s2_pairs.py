"""Real co-registered SAR / optical fragment pairs without labels (the paired-folder layout), tiled into patches.

On-disk layout (e.g. `../shared/data/s1s2_pairs/`, Sentinel-1 GRD VH and Sentinel-2 L1C true colour at 10 m):

    <root>/sar/NNN.png       8-bit SAR image (a grey image stored as R = G = B is read as one band)
    <root>/opt/NNN.jpg       8-bit optical image (RGB), same ground and same size (.jpg, .jpeg, .png or .tif)
    <root>/metadata.json     optional: a list of {"fragment_filename": "NNN.png", ...} (products, dates, corners)

Pair NNN of sar/ and opt/ shows the same ground. Every fragment is decoded once into memory (uint8) and tiled into
`patch`² windows every `stride` pixels (the last window of a row/column is moved in to end at the border, so the
whole fragment is covered). The band counts come from the files (1 SAR band and 3 optical bands here) and must
agree across fragments. Values are /255 and standardised per band with `stats` (mean, std per band), by default
measured on this set's own fragments: pass the training set's stats to the test set so both see the same input.

The split is spatial: whole fragments are held out (`split_fragments`), never patches of a training fragment.
A missing partner, a size mismatch, an unreadable image or a fragment smaller than the patch is a one-line DataError.
Items keep the fusion keys of the SEN12MS reader: {"s1": SAR C×p×p, "s2": optical C×p×p, "index", "fragment"}.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from sarhub.data.imageio import read_raster
from sarhub.data.sen12ms import split_files
from sarhub.errors import DataError

SAR_DIR, OPTICAL_DIR, METADATA = "sar", "opt", "metadata.json"
SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")


def is_pairs_root(root: str | Path) -> bool:
    """Whether `root` has this layout (a sar/ and an opt/ folder)."""
    return (Path(root) / SAR_DIR).is_dir() and (Path(root) / OPTICAL_DIR).is_dir()


def _images(folder: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() in SUFFIXES}


def list_pairs(root: str | Path) -> dict[str, tuple[Path, Path]]:
    """Fragment name → (SAR file, optical file) for every pair below `root`; a file without its partner (or a
    metadata entry without its files) is a DataError naming it."""
    root = Path(root)
    if not is_pairs_root(root):
        raise DataError(root, f"not a SAR/optical pair folder (needs {SAR_DIR}/ and {OPTICAL_DIR}/)")
    sar, opt = _images(root / SAR_DIR), _images(root / OPTICAL_DIR)
    for name in sorted(set(sar) ^ set(opt)):
        have, other = (sar[name], OPTICAL_DIR) if name in sar else (opt[name], SAR_DIR)
        raise DataError(have, f"missing partner: no {other}/{name}.* beside it")
    if not sar:
        raise DataError(root / SAR_DIR, "no images (.png, .jpg, .tif) found")
    meta = root / METADATA
    if meta.is_file():
        try:
            entries = json.loads(meta.read_text())
            listed = {Path(e["fragment_filename"]).stem for e in entries}
        except (ValueError, TypeError, KeyError) as exc:
            raise DataError(meta, f"cannot be read as a list of {{'fragment_filename': ...}} ({exc})") from None
        for name in sorted(listed - set(sar)):
            raise DataError(meta, f"lists fragment {name} but {SAR_DIR}/{name}.* and {OPTICAL_DIR}/{name}.* are missing")
    return {name: (sar[name], opt[name]) for name in sorted(sar)}


def _as_bands(array: np.ndarray, path: Path, collapse_grey: bool) -> np.ndarray:
    """H×W or H×W×C uint8 → C×H×W; R = G = B collapses to one band when asked (a grey SAR stored as RGB)."""
    if array.dtype != np.uint8:
        raise DataError(path, f"expected an 8-bit image, got {array.dtype}")
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3:
        raise DataError(path, f"expected H×W or H×W×C, got shape {array.shape}")
    if collapse_grey and array.shape[-1] == 3 and (array == array[..., :1]).all():
        array = array[..., :1]
    return array.transpose(2, 0, 1).copy()


def read_pair(sar_path: Path, opt_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(SAR C×H×W, optical C×H×W) uint8 of one fragment; DataError when unreadable or the sizes differ."""
    sar = _as_bands(read_raster(sar_path), sar_path, collapse_grey=True)
    opt = _as_bands(read_raster(opt_path), opt_path, collapse_grey=False)
    if sar.shape[1:] != opt.shape[1:]:
        raise DataError(sar_path, f"size {sar.shape[2]}×{sar.shape[1]} differs from its optical partner {opt_path.name} "
                                  f"({opt.shape[2]}×{opt.shape[1]})")
    return sar, opt


def split_fragments(names: Sequence[str], test_fraction: float, seed: int = 0) -> tuple[list[str], list[str]]:
    """(train, test) fragment names: a seeded draw of whole fragments (a validation set, when a choice has to be
    made, is carved from the training names the same way, never from the test names)."""
    train, test = split_files(names, test_fraction, seed)
    return [str(n) for n in train], [str(n) for n in test]


def window_starts(size: int, patch: int, stride: int) -> list[int]:
    """Offsets of the windows along one axis: every `stride`, plus one ending at the border if needed."""
    starts = list(range(0, size - patch + 1, stride))
    return starts + [size - patch] if starts[-1] != size - patch else starts


class PairedPatches(Dataset):
    """`patch`² windows of the fragments `names` (default: all) of a paired-folder root, decoded once into memory.

    stats: {"s1": (mean, std), "s2": (mean, std)} per band in [0, 1] units; None measures them on these fragments.
    """

    def __init__(self, root: str | Path, names: Sequence[str] | None = None, patch: int = 256,
                 stride: int | None = None, stats: dict | None = None):
        self.root, self.patch, self.stride = Path(root), int(patch), int(stride or patch)
        if self.patch < 8 or self.stride < 1:
            raise DataError(None, f"--patch must be at least 8 and --stride at least 1, got {patch} and {stride}")
        pairs = list_pairs(self.root)
        self.names = sorted(names) if names is not None else sorted(pairs)
        unknown = [n for n in self.names if n not in pairs]
        if unknown:
            raise DataError(self.root, f"no pair named {unknown[0]} (sar/{unknown[0]}.* and opt/{unknown[0]}.*)")
        if not self.names:
            raise DataError(self.root, "no fragments selected")
        self.files = [pairs[n] for n in self.names]
        decoded = [read_pair(*f) for f in self.files]
        for kind, at in (("SAR", 0), ("optical", 1)):  # every fragment must have the first one's band count
            bands = decoded[0][at].shape[0]
            for (sar_path, opt_path), arrays in zip(self.files, decoded):
                if arrays[at].shape[0] != bands:
                    raise DataError(opt_path if at else sar_path, f"has {arrays[at].shape[0]} {kind} band(s), "
                                                                  f"the other fragments {bands}")
        for (sar_path, _), (sar, _) in zip(self.files, decoded):
            if min(sar.shape[1:]) < self.patch:
                raise DataError(sar_path, f"is {sar.shape[2]}×{sar.shape[1]} px, smaller than the {self.patch} px patch")
        self.sar, self.opt = [d[0] for d in decoded], [d[1] for d in decoded]
        self.windows = [(f, y, x) for f, sar in enumerate(self.sar)
                        for y in window_starts(sar.shape[1], self.patch, self.stride)
                        for x in window_starts(sar.shape[2], self.patch, self.stride)]
        self.stats = stats or {"s1": band_stats(self.sar), "s2": band_stats(self.opt)}

    @property
    def channels(self) -> dict[str, int]:
        return {"s1": self.sar[0].shape[0], "s2": self.opt[0].shape[0]}

    def __len__(self) -> int:
        return len(self.windows)

    def _window(self, index: int) -> tuple[int, slice, slice]:
        f, y, x = self.windows[index]
        return f, slice(y, y + self.patch), slice(x, x + self.patch)

    def normalise(self, array: np.ndarray, modality: str) -> torch.Tensor:
        """uint8 C×H×W → standardised float32 tensor with this set's stats."""
        mean, std = (torch.tensor(v, dtype=torch.float32)[:, None, None] for v in self.stats[modality])
        return (torch.from_numpy(array).float() / 255.0 - mean) / std

    def __getitem__(self, index: int) -> dict:
        f, ys, xs = self._window(index)
        return {"s1": self.normalise(self.sar[f][:, ys, xs], "s1"), "s2": self.normalise(self.opt[f][:, ys, xs], "s2"),
                "index": index, "fragment": self.names[f]}

    def fragment(self, f: int) -> dict:
        """A whole fragment, normalised like the patches: {"s1", "s2", "fragment"}."""
        return {"s1": self.normalise(self.sar[f], "s1"), "s2": self.normalise(self.opt[f], "s2"),
                "fragment": self.names[f]}

    def optical_rgb(self, index: int) -> np.ndarray:
        """H×W×3 float in [0, 1] of patch `index` (the first three optical bands): what super-pixels are cut on."""
        f, ys, xs = self._window(index)
        return self.opt[f][:3, ys, xs].transpose(1, 2, 0).astype(np.float32) / 255.0

    def patch_keys(self) -> list[str]:
        """One string per patch (file, window) naming it in caches."""
        return [f"{self.files[f][1].resolve()}@{y},{x}+{self.patch}" for f, y, x in self.windows]


def band_stats(images: Sequence[np.ndarray]) -> tuple[list[float], list[float]]:
    """Per-band mean and standard deviation in [0, 1] units over C×H×W uint8 images (exact, by histograms)."""
    bands = images[0].shape[0]
    hist = np.zeros((bands, 256), np.float64)
    for image in images:
        for b in range(bands):
            hist[b] += np.bincount(image[b].ravel(), minlength=256)
    values = np.arange(256) / 255.0
    mean = hist @ values / hist.sum(axis=1)
    var = hist @ values**2 / hist.sum(axis=1) - mean**2
    return [float(m) for m in mean], [float(s) for s in np.sqrt(np.maximum(var, 1e-12))]
