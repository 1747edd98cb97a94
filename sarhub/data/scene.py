"""Scene-classification data for pre-training: TSX, BEN and OSU as the authors store them, and BigEarthNet-S1.

The authors' storage (also what `sarhub.data.synthetic.scenes` writes), one folder per dataset:

    <root>/classes.txt                       class names, one per line (label = line index)
    <root>/train.txt, val.txt, test.txt      "<path relative to root> <label>" per line; multi-label: "<path> 3,7"
    <root>/<CLASS>/<name>.npy                one image, H×W or C×H×W, normalised to 0–1 (float), or uint8/uint16

When the split files are missing they are made from the class folders (seeded 70/20/10 per class) and written, so
every later run sees the same split. Class folders of ordinary images (PNG/JPEG/TIFF, e.g. NWPU-RESISC45 for the
optical step of transitive transfer learning) are read the same way (`--dataset folder`). BigEarthNet-S1 in its original layout (`<patch>/<patch>_VV.tif`, `_VH.tif`,
`_labels_metadata.json`) is read by `BigEarthNetS1`; its 43 CORINE labels are aggregated to the official 19 classes
and a patch becomes a multi-hot target (patches none of whose labels survive the aggregation are skipped).
"""
from __future__ import annotations

import copy
import json
import logging
import random
from collections import Counter
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from sarhub.checkpoints import write_text_atomic
from sarhub.data.imageio import IMAGE_EXTENSIONS, check_finite, minmax, read_raster, to_unit_range
from sarhub.errors import DataError

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
SPLIT_FRACTIONS = (0.7, 0.2, 0.1)

Label = int | tuple[int, ...]


def read_classes(root: Path, split_dir: Path | None = None) -> list[str]:
    """Class names of `root/classes.txt`, else of the one `make_splits` wrote into `split_dir`."""
    path = root / "classes.txt"
    if not path.is_file() and split_dir is not None and (Path(split_dir) / "classes.txt").is_file():
        path = Path(split_dir) / "classes.txt"
    if not path.is_file():
        raise DataError(path, "classes.txt not found (one class name per line)")
    classes = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not classes:
        raise DataError(path, "no class names")
    if len(set(classes)) != len(classes):
        dup = next(c for c in classes if classes.count(c) > 1)
        raise DataError(path, f"class {dup!r} is listed twice")
    return classes


class _FileIndex:
    """Finds a listed file under `root`: by its relative path, else by its name alone (the authors' published
    lists hold bare file names or absolute paths of their machine; only the tail identifies a file)."""

    def __init__(self, root: Path, list_file: Path):
        self.root, self.list_file = root, list_file
        self._by_name: dict[str, str | None] | None = None

    def resolve(self, listed: str, lineno: int) -> str:
        if (self.root / listed).is_file():
            return listed
        if self._by_name is None:
            self._by_name = {}
            for path in self.root.rglob("*"):
                if path.is_file():
                    rel = str(path.relative_to(self.root))
                    self._by_name[path.name] = None if path.name in self._by_name else rel
        name = Path(listed.replace("\\", "/")).name
        if name not in self._by_name:
            raise DataError(self.list_file, f"line {lineno}: listed file {listed} does not exist under {self.root}")
        if self._by_name[name] is None:
            raise DataError(self.list_file, f"line {lineno}: several files under {self.root} are named {name}")
        return self._by_name[name]  # type: ignore[return-value]


def read_split(list_file: Path, num_classes: int, root: Path | None = None) -> list[tuple[str, Label]]:
    """Parse a split file ("<path> <label>" or "<path> l1,l2,…"); every label must be a class index, every listed
    file must exist under `root` (default: the list's folder), found by path or, failing that, by name."""
    if not list_file.is_file():
        raise DataError(list_file, "split file not found")
    index = _FileIndex(Path(root) if root is not None else list_file.parent, list_file)
    items: list[tuple[str, Label]] = []
    for lineno, line in enumerate(list_file.read_text().splitlines(), 1):
        if not line.strip():
            continue
        rel, _, label_text = line.strip().rpartition(" ")
        if not rel:
            raise DataError(list_file, f"line {lineno}: expected '<path> <label>', got {line.strip()!r}")
        try:
            labels = tuple(int(v) for v in label_text.split(","))
        except ValueError:
            raise DataError(list_file, f"line {lineno}: label {label_text!r} is not an integer class index") from None
        bad = [v for v in labels if not 0 <= v < num_classes]
        if bad:
            raise DataError(list_file, f"line {lineno}: label {bad[0]} outside the {num_classes} training classes")
        items.append((index.resolve(rel.strip(), lineno), labels[0] if len(labels) == 1 else labels))
    if not items:
        raise DataError(list_file, "split is empty")
    return items


def write_split(list_file: Path, items: Sequence[tuple[str, Label]]) -> None:
    lines = [f"{rel} {label if isinstance(label, int) else ','.join(map(str, label))}" for rel, label in items]
    write_text_atomic(list_file, "\n".join(lines) + "\n")


def make_splits(root: Path, seed: int = 0, fractions: Sequence[float] = SPLIT_FRACTIONS,
                out: Path | None = None) -> None:
    """Write train/val/test.txt (and classes.txt when `root` has none: its sorted class folders) into `out`
    (default `root`; the scripts give the run folder, so a data root is never written to), from
    `<root>/<CLASS>/*`, seeded, per class."""
    out = Path(out) if out is not None else root
    if (root / "classes.txt").is_file():
        classes = read_classes(root)
    else:
        classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        if not classes:
            raise DataError(root, "no class folders and no split files: nothing to read")
        out.mkdir(parents=True, exist_ok=True)
        (out / "classes.txt").write_text("\n".join(classes) + "\n")
    rng = random.Random(seed)
    splits: dict[str, list[tuple[str, Label]]] = {s: [] for s in SPLITS}
    for label, name in enumerate(classes):
        if not (root / name).is_dir():
            raise DataError(root / name, f"class {name!r} of classes.txt has no folder")
        files = sorted(str(p.relative_to(root)) for p in (root / name).iterdir()
                       if p.suffix.lower() in IMAGE_EXTENSIONS)
        if not files:
            raise DataError(root / name, "class folder is empty (no .npy or image files)")
        rng.shuffle(files)
        n_train = int(round(fractions[0] * len(files)))
        n_val = int(round(fractions[1] * len(files)))
        for split, chunk in zip(SPLITS, (files[:n_train], files[n_train:n_train + n_val], files[n_train + n_val:])):
            splits[split].extend((f, label) for f in chunk)
    for split, items in splits.items():
        write_split(out / f"{split}.txt", sorted(items))
    log.info("wrote %s splits of %s: %s", out, root, {s: len(v) for s, v in splits.items()})


def ensure_generated_splits(split_dir: Path, root: Path, seed: int, make: Callable[[], None],
                            fractions: Sequence[float] = SPLIT_FRACTIONS) -> None:
    """Split files this project generated into `split_dir` are tagged with the data root, seed and (when not the
    default) fractions they were drawn from (`splits.json`) and redrawn when any changed, so a run folder reused for
    other data never reads the old data's lists."""
    tag: dict = {"root": str(Path(root).resolve()), "seed": seed}
    if tuple(fractions) != SPLIT_FRACTIONS:
        tag["fractions"] = list(fractions)
    stamp = split_dir / "splits.json"
    current = json.loads(stamp.read_text()) if stamp.is_file() else None
    if current == tag and all((split_dir / f"{s}.txt").is_file() for s in SPLITS):
        return
    if current is None and (split_dir / "train.txt").is_file() and Path(split_dir).resolve() == Path(root).resolve():
        return  # lists a data root already holds are its own
    if current is not None and (split_dir / "classes.txt").is_file() and not (Path(root) / "classes.txt").is_file():
        (split_dir / "classes.txt").unlink()  # drawn from the old root's folders
    make()
    stamp.write_text(json.dumps(tag))


def load_unit_image(path: Path) -> np.ndarray:
    """Read one stored image as float32 C×H×W in [0, 1], with clear errors for bad content."""
    array = read_raster(path)
    if array.ndim == 2:
        array = array[None]
    elif array.ndim != 3 or min(array.shape) == 0:
        raise DataError(path, f"expected an H×W or C×H×W image, got shape {array.shape}")
    if array.ndim == 3 and array.shape[-1] <= 4 and array.shape[0] > 4:  # H×W×C -> C×H×W
        array = np.moveaxis(array, -1, 0)
    return np.ascontiguousarray(to_unit_range(array, path))


class SceneDataset(Dataset):
    """One split of a scene dataset in the authors' .npy layout; items {"image", "label", "path"}.

    `label` is an int for single-label sets and a multi-hot float tensor for multi-label ones (BEN).
    `cache=True` keeps decoded images in memory (decode once, not every epoch) for sets that fit.
    """

    def __init__(self, root: str | Path, split: str, transform: Callable | None = None, seed: int = 0,
                 cache: bool = False, split_dir: str | Path | None = None, split_file: str | Path | None = None,
                 classes: Sequence[str] | None = None, num_classes: int | None = None,
                 fractions: Sequence[float] = SPLIT_FRACTIONS):
        """Items come from `split_file`, else `<root>/<split>.txt`, else `<split_dir>/<split>.txt` (written there,
        seeded, `fractions` per class, when absent; `split_dir` defaults to root for library use on a folder you
        own, the scripts always give the run folder or --split-dir). Classes: `classes` (a validation set takes the
        training set's), else classes.txt (root, then split_dir), else `num_classes` names "0"…"N-1" (the authors'
        lists carry indices only)."""
        self.root = Path(root)
        if not self.root.is_dir():
            raise DataError(self.root, "dataset folder not found")
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}")
        list_file = Path(split_file) if split_file is not None else self.root / f"{split}.txt"
        if not list_file.is_file() and split_file is None:
            split_dir = self.root if split_dir is None else split_dir
            list_file = Path(split_dir) / f"{split}.txt"
            ensure_generated_splits(Path(split_dir), self.root, seed,
                                    lambda: make_splits(self.root, seed, fractions, out=Path(split_dir)), fractions)
        if classes is not None:
            self.classes = list(classes)
        elif (self.root / "classes.txt").is_file() or (split_dir and (Path(split_dir) / "classes.txt").is_file()) \
                or num_classes is None:
            self.classes = read_classes(self.root, Path(split_dir) if split_dir else None)
        else:
            self.classes = [str(c) for c in range(num_classes)]
        self.items = read_split(list_file, len(self.classes), self.root)
        self.multilabel = any(isinstance(label, tuple) for _, label in self.items)
        self.transform = transform
        self._cache: dict[int, torch.Tensor] | None = {} if cache else None
        self._channels: int | None = None

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def class_counts(self) -> list[int]:
        counts: Counter[int] = Counter()
        for _, label in self.items:
            counts.update([label] if isinstance(label, int) else label)
        return [counts[c] for c in range(self.num_classes)]

    def bootstrap(self, seed: int) -> "SceneDataset":
        """A copy whose items are a bootstrap resample (same size, drawn with replacement) — one bagging member."""
        view = copy.copy(self)
        g = torch.Generator().manual_seed(seed)
        view.items = [self.items[i] for i in torch.randint(len(self.items), (len(self.items),), generator=g).tolist()]
        view._cache = None if self._cache is None else {}
        return view

    def class_labels(self) -> list[int]:
        """One label per item (single-label sets), e.g. for class-balanced sampling."""
        if self.multilabel:
            raise ValueError(f"{self.root}: class-balanced batches need a single-label dataset")
        return [label for _, label in self.items]

    def target(self, label: Label) -> int | torch.Tensor:
        if not self.multilabel:
            return label
        target = torch.zeros(self.num_classes)
        target[list(label) if isinstance(label, tuple) else [label]] = 1.0
        return target

    def channels(self) -> int:
        """Channels of the set, from its first image: every image must have as many (batches cannot mix)."""
        if self._channels is None:
            self._channels = int(load_unit_image(self.root / self.items[0][0]).shape[0])
        return self._channels

    def load(self, index: int) -> torch.Tensor:
        if self._cache is not None and index in self._cache:
            return self._cache[index]
        path = self.root / self.items[index][0]
        image = torch.from_numpy(load_unit_image(path))
        if image.shape[0] != self.channels():
            raise DataError(path, f"has {image.shape[0]} channel(s), the first image of the set "
                                  f"({self.items[0][0]}) has {self.channels()}")
        if self._cache is not None:
            self._cache[index] = image
        return image

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        image = self.load(index)
        if self.transform is not None:
            image = self.transform(image)
        rel, label = self.items[index]
        return {"image": image, "label": self.target(label), "path": str(self.root / rel)}


# --- BigEarthNet-S1 original layout ---------------------------------------------------------------------------

BEN19_CLASSES = (
    "Urban fabric", "Industrial or commercial units", "Arable land", "Permanent crops", "Pastures",
    "Complex cultivation patterns",
    "Land principally occupied by agriculture, with significant areas of natural vegetation",
    "Agro-forestry areas", "Broad-leaved forest", "Coniferous forest", "Mixed forest",
    "Natural grassland and sparsely vegetated areas", "Moors, heathland and sclerophyllous vegetation",
    "Transitional woodland, shrub", "Beaches, dunes, sands", "Inland wetlands", "Coastal wetlands",
    "Inland waters", "Marine waters",
)
# The official 43 -> 19 nomenclature (Sumbul et al., 2021). The 43-class labels absent here (road/rail networks,
# port areas, airports, mineral extraction, dump and construction sites, green urban areas, sport and leisure
# facilities, bare rock, burnt areas, intertidal flats) have no 19-class counterpart and are dropped.
BEN43_TO_19 = {
    "Continuous urban fabric": 0, "Discontinuous urban fabric": 0, "Industrial or commercial units": 1,
    "Non-irrigated arable land": 2, "Permanently irrigated land": 2, "Rice fields": 2,
    "Vineyards": 3, "Fruit trees and berry plantations": 3, "Olive groves": 3,
    "Annual crops associated with permanent crops": 3, "Pastures": 4, "Complex cultivation patterns": 5,
    "Land principally occupied by agriculture, with significant areas of natural vegetation": 6,
    "Agro-forestry areas": 7, "Broad-leaved forest": 8, "Coniferous forest": 9, "Mixed forest": 10,
    "Natural grassland": 11, "Sparsely vegetated areas": 11, "Moors and heathland": 12,
    "Sclerophyllous vegetation": 12, "Transitional woodland/shrub": 13, "Beaches, dunes, sands": 14,
    "Inland marshes": 15, "Peatbogs": 15, "Salt marshes": 16, "Salines": 16, "Water courses": 17,
    "Water bodies": 17, "Coastal lagoons": 18, "Estuaries": 18, "Sea and ocean": 18,
}
BEN43_DROPPED = {
    "Road and rail networks and associated land", "Port areas", "Airports", "Mineral extraction sites",
    "Dump sites", "Construction sites", "Green urban areas", "Sport and leisure facilities", "Bare rock",
    "Burnt areas", "Intertidal flats",
}


def ben19_labels(labels43: Sequence[str], source: Path) -> tuple[int, ...]:
    """Map a patch's CORINE (43-class) label names to sorted unique 19-class indices."""
    out = set()
    for name in labels43:
        if name in BEN43_TO_19:
            out.add(BEN43_TO_19[name])
        elif name not in BEN43_DROPPED:
            raise DataError(source, f"unknown BigEarthNet label {name!r}")
    return tuple(sorted(out))


class BigEarthNetS1(Dataset):
    """BigEarthNet-S1 patches in the original layout, 19-class multi-hot targets.

    Each band (VV, VH, dB floats) is min–max normalised per patch to [0, 1], the storage convention of the
    authors' .npy files, then DRAE (PTLS) is applied by the training engine. `bands=("VV",)` gives the
    single-channel input the SAR-HUB backbones use; `("VV", "VH")` gives two channels.
    A split is a list file of patch folder names (one per line), written seeded 70/20/10 by `make_ben_splits`.
    """

    def __init__(self, root: str | Path, split: str | None = None, patches: Sequence[str] | None = None,
                 bands: Sequence[str] = ("VV",), transform: Callable | None = None, seed: int = 0,
                 split_dir: str | Path | None = None):
        self.root = Path(root)
        if patches is None:
            if split is None:
                patches = sorted(p.name for p in self.root.iterdir() if p.is_dir())
            else:
                list_file = self.root / f"{split}.txt"
                if not list_file.is_file():
                    out = Path(split_dir or self.root)
                    list_file = out / f"{split}.txt"
                    ensure_generated_splits(out, self.root, seed, lambda: make_ben_splits(self.root, seed, out=out))
                patches = [x.strip() for x in list_file.read_text().splitlines() if x.strip()]
        self.bands = tuple(bands)
        self.transform = transform
        self.classes = list(BEN19_CLASSES)
        self.multilabel = True
        self.items: list[tuple[str, tuple[int, ...]]] = []
        skipped = 0
        for name in patches:
            meta = self.root / name / f"{name}_labels_metadata.json"
            try:
                labels43 = json.loads(meta.read_text())["labels"]
            except FileNotFoundError:
                raise DataError(meta, "label metadata not found") from None
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise DataError(meta, f"not a BigEarthNet label file ({exc})") from None
            labels = ben19_labels(labels43, meta)
            if labels:
                self.items.append((name, labels))
            else:
                skipped += 1
        if skipped:
            log.warning("%s: %d patch(es) without any 19-class label skipped", self.root, skipped)
        if not self.items:
            raise DataError(self.root, "no BigEarthNet-S1 patches with 19-class labels")

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def class_counts(self) -> list[int]:
        counts = Counter(c for _, labels in self.items for c in labels)
        return [counts[c] for c in range(self.num_classes)]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        name, labels = self.items[index]
        channels = []
        for band in self.bands:
            path = self.root / name / f"{name}_{band}.tif"
            array = read_raster(path).astype(np.float32)
            if array.ndim != 2:
                raise DataError(path, f"expected a single-band image, got shape {array.shape}")
            check_finite(array, path)
            channels.append(minmax(array))
        image = torch.from_numpy(np.stack(channels))
        if self.transform is not None:
            image = self.transform(image)
        target = torch.zeros(self.num_classes)
        target[list(labels)] = 1.0
        return {"image": image, "label": target, "path": str(self.root / name)}


def make_ben_splits(root: Path, seed: int = 0, fractions: Sequence[float] = SPLIT_FRACTIONS,
                    out: Path | None = None) -> None:
    """Seeded random 70/20/10 split of the patch folders under `root`, written as train/val/test.txt into `out`
    (default `root`)."""
    out = Path(out) if out is not None else Path(root)
    out.mkdir(parents=True, exist_ok=True)
    patches = sorted(p.name for p in Path(root).iterdir() if p.is_dir())
    if not patches:
        raise DataError(root, "no BigEarthNet patch folders")
    random.Random(seed).shuffle(patches)
    n_train = int(round(fractions[0] * len(patches)))
    n_val = int(round(fractions[1] * len(patches)))
    chunks = (patches[:n_train], patches[n_train:n_train + n_val], patches[n_train + n_val:])
    for split, chunk in zip(SPLITS, chunks):
        (out / f"{split}.txt").write_text("".join(f"{p}\n" for p in sorted(chunk)))


def is_ben_original(root: Path) -> bool:
    return any(root.glob("*/*_labels_metadata.json"))
