"""Class-folder scene sets read as ONE grey channel: the pre-training input contract for any labelled image folder.

Layout: `<root>/<class>/<file>` with real or complex `.npy`, 8/16-bit PNG/JPEG/TIFF (grey or RGB). Every image
becomes one grey channel in [0, 1] by its storage format (`sarhub.data.imageio.grey_unit`): uint8 / 255, uint16 /
65535, complex SLC amplitude |z| / `amplitude_scale` (65535, TSX's 16-bit storage scale) clipped to [0, 1], float
arrays as stored in [0, 1]; RGB by the ITU-R BT.601 luma rule 0.299 R + 0.587 G + 0.114 B (PIL's "L"). DRAE and the
per-image standardisation follow on the batch (`sarhub.preprocess.Preprocess`), so an optical set such as RSSCN7
and a SAR set feed a backbone the same kind of input: one channel, whatever the source stored.

Splits are seeded and stratified (default 70/20/10 of every class, `sarhub.data.scene.make_splits`), written as
list files into `split_dir` (a run folder) and never into the data root; a root that holds its own `train.txt`
etc. is read by those lists. `tsx_slc/slc_data` (complex64 chips in class folders) is such a set when the
published lists are not used.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import torch

from sarhub.data.imageio import AMPLITUDE_SCALE, grey_unit, read_raster
from sarhub.data.scene import SPLIT_FRACTIONS, SceneDataset
from sarhub.errors import DataError


def read_grey(path: str | Path, amplitude_scale: float = AMPLITUDE_SCALE) -> torch.Tensor:
    """One stored image as a float32 1×H×W tensor in [0, 1] (the contract's first step; see the module docstring)."""
    return torch.from_numpy(grey_unit(read_raster(path), path, amplitude_scale))[None]


class ClassFolderDataset(SceneDataset):
    """One split of a class-folder image set; items {"image": 1×H×W float in [0, 1], "label", "path"}.

    `split_dir` is required (the split lists are written there) and must lie outside `root`, unless the root
    carries its own `<split>.txt` or a `split_file` is given. `cache=True` keeps decoded images in memory.
    """

    def __init__(self, root: str | Path, split: str, split_dir: str | Path | None, transform: Callable | None = None,
                 seed: int = 0, cache: bool = False, split_file: str | Path | None = None,
                 classes: Sequence[str] | None = None, fractions: Sequence[float] = SPLIT_FRACTIONS,
                 amplitude_scale: float = AMPLITUDE_SCALE):
        root = Path(root)
        if split_file is None and not (root / f"{split}.txt").is_file():
            if split_dir is None:
                raise DataError(root, "has no split lists: give a split folder (the run folder) to write them to")
            if Path(split_dir).resolve().is_relative_to(root.resolve()):
                raise DataError(split_dir, f"split lists are never written into the data root {root}")
        super().__init__(root, split, transform, seed, cache, split_dir, split_file, classes, fractions=fractions)
        self.amplitude_scale = amplitude_scale

    def channels(self) -> int:
        return 1

    def load(self, index: int) -> torch.Tensor:
        if self._cache is not None and index in self._cache:
            return self._cache[index]
        image = read_grey(self.root / self.items[index][0], self.amplitude_scale)
        if self._cache is not None:
            self._cache[index] = image
        return image
