"""The scene-classification sets by name, like detection's LAYOUTS: `SCENE_DATASETS` maps a `--dataset` value to a
reader class, and every reader opens its splits the same way, `open_split(data, split, transform, out, seed,
classes, cache)`. Adding a set is one reader class and one entry (docs/ARCHITECTURE.md has the worked example)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from sarhub.config import option
from sarhub.data.class_folder import ClassFolderDataset
from sarhub.data.labels import LabelledImages
from sarhub.data.scene import (
    BEN19_CLASSES,
    SPLITS,
    BigEarthNetS1,
    SceneDataset,
    is_ben_original,
)
from sarhub.data.synthetic.scenes import simulated_scene_root
from sarhub.data.tsx_slc import TSXSLCDataset
from sarhub.errors import ConfigError, DataError

PAPER_CLASSES = {"TSX": 32, "BEN": len(BEN19_CLASSES), "OSU": 10}  # the pre-training sets of paper §4.1


class SceneReader(LabelledImages):
    """What scene pre-training asks of a reader class besides being a `LabelledImages`: its splits opened from the
    data options. `out` is the run folder (split lists go there, never into the data root)."""

    @classmethod
    def open_split(cls, data: SceneData, split: str, transform: Callable | None, out: Path, seed: int,
                   classes: Sequence[str] | None = None, cache: bool = False) -> LabelledImages:
        raise NotImplementedError


class AuthorsScenes(SceneDataset, SceneReader):
    """TSX / OSU (and BEN's 10 % subset) in the authors' .npy layout, or simulated in that format without a root."""

    @classmethod
    def open_split(cls, data: SceneData, split: str, transform: Callable | None, out: Path, seed: int,
                   classes: Sequence[str] | None = None, cache: bool = False) -> SceneDataset:
        if data.root is None:
            root = simulated_scene_root(data.dataset, data.sim_classes, data.sim_per_class, seed=seed)
            return cls(root, split, transform, seed, cache=True, split_dir=root, classes=classes)
        return cls(_folder(data), split, transform, seed, cache=cache, split_dir=data.split_dir or out,
                   split_file=data.lists.get(split), classes=classes, num_classes=PAPER_CLASSES[data.dataset])


class BENScenes(SceneReader):
    """BigEarthNet-S1: its original layout (patch folders with `*_labels_metadata.json`, 19-class multi-hot
    targets) or the authors' .npy layout."""

    @classmethod
    def open_split(cls, data: SceneData, split: str, transform: Callable | None, out: Path, seed: int,
                   classes: Sequence[str] | None = None, cache: bool = False) -> LabelledImages:
        if data.root is not None and is_ben_original(_folder(data)):
            return BigEarthNetS1(data.root, split, bands=tuple(data.bands.split(",")), transform=transform, seed=seed,
                                 split_dir=data.split_dir or out)
        return AuthorsScenes.open_split(data, split, transform, out, seed, classes, cache)


class TSXSLCScenes(TSXSLCDataset, SceneReader):
    """The real TerraSAR-X SLC chips with their published lists (`sarhub.data.tsx_slc`)."""

    @classmethod
    def open_split(cls, data: SceneData, split: str, transform: Callable | None, out: Path, seed: int,
                   classes: Sequence[str] | None = None, cache: bool = False) -> TSXSLCDataset:
        return cls(_folder(data), split, transform)


class FolderScenes(ClassFolderDataset, SceneReader):
    """Any class-folder image set read as one grey channel (`sarhub.data.class_folder`), e.g. RSSCN7."""

    @classmethod
    def open_split(cls, data: SceneData, split: str, transform: Callable | None, out: Path, seed: int,
                   classes: Sequence[str] | None = None, cache: bool = False) -> ClassFolderDataset:
        return cls(_folder(data), split, data.split_dir or out, transform, seed, cache=cache,
                   split_file=data.lists.get(split), classes=classes)


def _folder(data: SceneData) -> Path:
    if data.root is None:
        raise ConfigError("data_root", f"dataset {data.dataset} needs its data folder (the simulator imitates TSX, "
                                       "BEN and OSU)")
    root = Path(data.root)
    if not root.is_dir():
        raise DataError(root, "dataset folder not found")
    return root


SCENE_DATASETS: dict[str, type[SceneReader]] = {"TSX": AuthorsScenes, "BEN": BENScenes, "OSU": AuthorsScenes,
                                                "TSX-SLC": TSXSLCScenes, "folder": FolderScenes}


@dataclass
class SceneData:
    """Which scene set, where, and how its splits are found or made: the data options of scene pre-training."""

    dataset: str = option("TSX", "TSX, BEN, OSU (the authors' .npy layout or BigEarthNet-S1's own), TSX-SLC (the "
                                 "real TerraSAR-X SLC chips), folder (any class-folder set, e.g. RSSCN7 or "
                                 "tsx_slc/slc_data, read as one grey channel: RGB by BT.601 luma)",
                          choices=tuple(SCENE_DATASETS))
    root: str | None = option(None, "dataset folder; None: the built-in SAR simulator", flag="data_root")
    bands: str = option("VV", "BigEarthNet-S1 original layout: VV, VH or VV,VH")
    split_dir: str | None = option(None, "where split files missing from the data root are written (None: the run "
                                         "folder); never the data root")
    split_file: list[str] = option(factory=list, help="list of a split (train=…, val=…, test=…), '<path or file "
                                   "name> <label or l1,l2,…>' per line, e.g. the authors' BEN/OSU lists",
                                   metavar="SPLIT=PATH", repeat=True)
    bootstrap_seed: int | None = option(None, "bagging: train on this bootstrap resample", bounds=(0, None))
    sim_classes: int = option(8, "simulated classes", bounds=(2, None))
    sim_per_class: int = option(60, "images of the largest simulated class", bounds=(1, None))

    def __post_init__(self) -> None:
        bad = [item for item in self.split_file if "=" not in item or item.split("=", 1)[0] not in SPLITS]
        if bad:
            raise ConfigError("split_file", f"{bad[0]}: expected train=PATH, val=PATH or test=PATH")

    @property
    def lists(self) -> dict[str, str]:
        return dict(item.split("=", 1) for item in self.split_file)

    def open_split(self, split: str, transform: Callable | None, out: Path, seed: int,
                   classes: Sequence[str] | None = None, cache: bool = False) -> LabelledImages:
        """One split of the set, by its registered reader."""
        return SCENE_DATASETS[self.dataset].open_split(self, split, transform, out, seed, classes, cache)
