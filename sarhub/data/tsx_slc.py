"""TerraSAR-X single-look-complex land-cover chips as published with Deep SAR-Net (Huang et al., ISPRS J. 2020).

The one real labelled SAR scene set this project can pre-train on. Layout, exactly as published:

    <root>/slc_data/<class>/<name>.npy           one chip: complex64/complex128 H×W (or a real amplitude array)
    <root>/slc_train_3.txt, slc_val_3.txt         CSV "path,catename" (path relative to slc_data/)
    <root>/slc_catename2label_cate8.txt           CSV "catename,label"

Chips become amplitude |z| divided by a fixed dataset scale (65535: the paper feeds 16-bit TSX detected images in
their storage scale, so the same amplitude maps to the same input in every chip; per-image min–max would erase
the absolute brightness that Reinhard–Devlin DRAE adapts). The published lists hold train and val only; the test
split is carved from the training list with a fixed seed (`split_seed`, not the run's seed: every run, seed and
ablation cell is scored on the same chips), the same fraction from every class, so model selection uses the val
list alone and the test chips are never seen in training.
"""
from __future__ import annotations

import copy
import csv
import random
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from sarhub.data.imageio import AMPLITUDE_SCALE
from sarhub.data.labels import LabelledImages
from sarhub.errors import DataError

TRAIN_LIST, VAL_LIST, LABEL_MAP = "slc_train_3.txt", "slc_val_3.txt", "slc_catename2label_cate8.txt"
TEST_FRACTION = 0.1  # of each class of the published training list, held out as the test split


def is_tsx_slc(root: Path) -> bool:
    return (root / LABEL_MAP).is_file() and (root / "slc_data").is_dir()


def read_csv_rows(path: Path, header: tuple[str, str]) -> list[tuple[str, str]]:
    """Rows of a two-column CSV list with the given header, with errors that name the file and line."""
    if not path.is_file():
        raise DataError(path, "list file not found")
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows or tuple(c.strip() for c in rows[0]) != header:
        raise DataError(path, f"expected the CSV header {','.join(header)!r}")
    out = []
    for lineno, row in enumerate(rows[1:], 2):
        if not row or not "".join(row).strip():
            continue
        if len(row) != 2:
            raise DataError(path, f"line {lineno}: expected 2 comma-separated fields, got {len(row)}")
        out.append((row[0].strip(), row[1].strip()))
    if not out:
        raise DataError(path, "list is empty")
    return out


def read_label_map(root: Path) -> list[str]:
    """Class names ordered by their published label (label = index)."""
    path = root / LABEL_MAP
    pairs = read_csv_rows(path, ("catename", "label"))
    try:
        labels = {name: int(label) for name, label in pairs}
    except ValueError:
        raise DataError(path, "labels must be integers") from None
    if sorted(labels.values()) != list(range(len(labels))):
        raise DataError(path, f"labels must be 0..{len(labels) - 1}, each once; got {sorted(labels.values())}")
    return sorted(labels, key=labels.get)


def read_amplitude(path: Path, scale: float = AMPLITUDE_SCALE) -> np.ndarray:
    """One chip as float32 1×H×W amplitude / scale, clipped to [0, 1]."""
    if not path.is_file():
        raise DataError(path, "chip file not found")
    try:
        array = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise DataError(path, f"cannot be read as a .npy array ({type(exc).__name__}: {exc})") from exc
    if not isinstance(array, np.ndarray) or array.ndim != 2 or min(array.shape) == 0:
        raise DataError(path, f"expected an H×W chip, got shape {getattr(array, 'shape', None)}")
    if np.iscomplexobj(array):
        amplitude = np.abs(array)
    elif np.issubdtype(array.dtype, np.number):
        amplitude = np.abs(array.astype(np.float64))
    else:
        raise DataError(path, f"unsupported dtype {array.dtype} (expected complex SLC or real amplitude)")
    if not np.isfinite(amplitude).all():
        raise DataError(path, f"contains {int((~np.isfinite(amplitude)).sum())} NaN/inf value(s)")
    return np.clip(amplitude / scale, 0.0, 1.0).astype(np.float32)[None]


def carve_test(items: list[tuple[str, int]], fraction: float, seed: int) -> tuple[list, list]:
    """(train, test): `fraction` of every class, drawn with a seeded shuffle of the sorted class members."""
    by_class: dict[int, list[tuple[str, int]]] = {}
    for item in sorted(items):
        by_class.setdefault(item[1], []).append(item)
    train, test = [], []
    rng = random.Random(seed)
    for label in sorted(by_class):
        members = by_class[label]
        rng.shuffle(members)
        n_test = int(round(fraction * len(members)))
        test += members[:n_test]
        train += members[n_test:]
    return sorted(train), sorted(test)


def split_items(root: Path, split: str, classes: list[str], split_seed: int = 0,
                test_fraction: float = TEST_FRACTION) -> list[tuple[str, int]]:
    """(path relative to slc_data/, label) of one split: val is the published val list; train and test are carved
    from the published training list (`carve_test`), so the test chips never reach training or pre-training."""
    if split not in ("train", "val", "test"):
        raise ValueError("split must be train, val or test")
    index = {name: i for i, name in enumerate(classes)}
    list_file = root / (VAL_LIST if split == "val" else TRAIN_LIST)
    items = []
    for rel, name in read_csv_rows(list_file, ("path", "catename")):
        if name not in index:
            raise DataError(list_file, f"class {name!r} is not in {LABEL_MAP}")
        items.append((rel, index[name]))
    if split == "val":
        return items
    train, test = carve_test(items, test_fraction, split_seed)
    return train if split == "train" else test


class TSXSLCDataset(LabelledImages):
    """One split (train / val / test) of the TSX SLC chips; items {"image", "label", "path"}, decoded once into
    memory (2550 chips of 64×64 take 42 MB)."""

    def __init__(self, root: str | Path, split: str, transform: Callable | None = None, split_seed: int = 0,
                 amplitude_scale: float = AMPLITUDE_SCALE, test_fraction: float = TEST_FRACTION):
        self.root = Path(root)
        if not is_tsx_slc(self.root):
            raise DataError(self.root, f"not the TSX SLC layout (needs {LABEL_MAP} and slc_data/)")
        self.classes = read_label_map(self.root)
        self.items = items = split_items(self.root, split, self.classes, split_seed, test_fraction)
        self.transform = transform
        self.amplitude_scale = amplitude_scale
        self.images = torch.from_numpy(np.stack([read_amplitude(self.root / "slc_data" / rel, amplitude_scale)
                                                 for rel, _ in items]))

    def bootstrap(self, seed: int) -> "TSXSLCDataset":
        """A bootstrap resample of the same size (one bagging member)."""
        view = copy.copy(self)
        g = torch.Generator().manual_seed(seed)
        pick = torch.randint(len(self.items), (len(self.items),), generator=g)
        view.items = [self.items[i] for i in pick.tolist()]
        view.images = self.images[pick]
        return view

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        image = self.images[index]
        if self.transform is not None:
            image = self.transform(image)
        rel, label = self.items[index]
        return {"image": image, "label": label, "path": str(self.root / "slc_data" / rel)}
