"""SAR target-recognition data (paper Table 6): MSTAR (class folders or raw Phoenix files), OpenSARShip in its
original per-scene layout, and FUSAR-Ship.

MSTAR magnitude becomes an image the same way in both layouts: linear magnitude divided by the chip's maximum
(the public 8-bit JPEG releases are exactly this, quantised: every chip spans 0–255), giving [0, 1]. Chips are
centre-cropped to 128×128 before anything else, because the native chip size differs per class (128 to 193 px) and
would otherwise give the class away. Decoded chips are cached in memory (the whole SOC set is ~35 MB).
"""
from __future__ import annotations

import logging
import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.transforms import v2

from sarhub.config import option
from sarhub.data.imageio import IMAGE_EXTENSIONS, check_finite, read_raster
from sarhub.data.labels import LabelledImages
from sarhub.data.synthetic.targets import simulated_mstar_root
from sarhub.errors import ConfigError, DataError

log = logging.getLogger(__name__)

MSTAR_SOC_CLASSES = ("2S1", "BMP2", "BRDM2", "BTR60", "BTR70", "D7", "T62", "T72", "ZIL131", "ZSU234")
FUSAR_CLASSES = ("Cargo", "Dredger", "Fishing", "Passenger", "Tanker", "Tug")
# OpenSARShip scales of the paper (chip side in pixels) and the input size each is resized to.
OSS_SCALES = {"small": (20, 60, 32), "medium": (60, 120, 96), "large": (120, 10**6, 128)}
PHOENIX_MAGIC = b"[PhoenixHeaderVer"
PHOENIX_END = b"[EndofPhoenixHeader]"


# --- MSTAR Phoenix files -------------------------------------------------------------------------------------------

@dataclass
class PhoenixChip:
    magnitude: np.ndarray  # float32 rows × columns
    phase: np.ndarray
    header: dict[str, str]

    @property
    def target_type(self) -> str:
        return self.header.get("TargetType", "")

    @property
    def azimuth(self) -> float:
        return float(self.header.get("TargetAz", "nan"))

    @property
    def depression(self) -> float:
        return float(self.header.get("DesiredDepression", "nan"))


def is_phoenix(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(64).lstrip().startswith(PHOENIX_MAGIC)
    except OSError:
        return False


def read_phoenix(path: str | Path) -> PhoenixChip:
    """Parse a raw MSTAR file: ASCII `Key= value` header (real files start with a newline) up to
    `[EndofPhoenixHeader]` (its byte length in
    `PhoenixHeaderLength`, plus `native_header_length` bytes of native header), then big-endian float32 magnitude
    and phase blocks of NumberOfRows × NumberOfColumns."""
    path = Path(path)
    data = path.read_bytes()
    if not data[:64].lstrip().startswith(PHOENIX_MAGIC) or PHOENIX_END not in data[:100_000]:
        raise DataError(path, "not a Phoenix (raw MSTAR) file: header markers missing")
    text = data[: data.index(PHOENIX_END)].decode("ascii", errors="replace")
    header = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            header[key.strip()] = value.strip()
    try:
        header_len = int(header["PhoenixHeaderLength"])
        rows, cols = int(header["NumberOfRows"]), int(header["NumberOfColumns"])
        native = int(header.get("native_header_length", header.get("NativeHeaderLength", "0")) or 0)
    except (KeyError, ValueError) as exc:
        raise DataError(path, f"Phoenix header lacks a valid size field ({exc})") from None
    if rows <= 0 or cols <= 0 or header_len <= 0 or native < 0:
        raise DataError(path, f"Phoenix header gives impossible sizes (header {header_len}, native {native}, "
                              f"{rows}×{cols})")
    start, count = header_len + native, rows * cols
    need = start + 2 * 4 * count
    if len(data) < need:
        raise DataError(path, f"truncated: {len(data)} bytes, the header announces {need} ({rows}×{cols} magnitude + phase)")
    blocks = np.frombuffer(data, dtype=">f4", count=2 * count, offset=start).astype(np.float32)
    magnitude, phase = blocks[:count].reshape(rows, cols), blocks[count:].reshape(rows, cols)
    check_finite(magnitude, path)
    return PhoenixChip(magnitude, phase, header)


def magnitude_to_unit(magnitude: np.ndarray) -> np.ndarray:
    """The MSTAR image convention of this project: linear magnitude / chip maximum, in [0, 1]."""
    peak = float(magnitude.max())
    return (magnitude / peak).astype(np.float32) if peak > 0 else np.zeros_like(magnitude, dtype=np.float32)


def centre_crop(image: np.ndarray, size: int, path: Path) -> np.ndarray:
    h, w = image.shape[-2:]
    if h < size or w < size:
        raise DataError(path, f"chip is {h}×{w}, smaller than the {size}×{size} centre crop")
    y, x = (h - size) // 2, (w - size) // 2
    return image[..., y:y + size, x:x + size]


def read_mstar_chip(path: Path, crop: int) -> np.ndarray:
    """One MSTAR chip (JPEG/PNG/TIFF or raw Phoenix) as a centre-cropped float32 [0, 1] image."""
    if path.suffix.lower() in IMAGE_EXTENSIONS and not is_phoenix(path):
        array = read_raster(path)
        if array.ndim == 3:
            array = array[..., 0]
        array = array.astype(np.float32)
        check_finite(array, path)  # a NaN would make the chip maximum NaN and the whole chip zero
        return magnitude_to_unit(centre_crop(array, crop, path))
    return magnitude_to_unit(centre_crop(read_phoenix(path).magnitude, crop, path))


def resize(image: torch.Tensor, size: int) -> torch.Tensor:
    if image.shape[-1] == size and image.shape[-2] == size:
        return image
    return F.interpolate(image[None], size=(size, size), mode="bilinear", align_corners=False, antialias=True)[0]


# --- list files and subsets ----------------------------------------------------------------------------------------

def write_list_file(path: str | Path, items: Sequence[tuple[str, int]]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{rel} {label}\n" for rel, label in items))


def read_list_file(path: str | Path) -> list[tuple[str, int]]:
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "list file not found")
    items = []
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            rel, _, label = line.strip().rpartition(" ")
            if not rel or not label.lstrip("-").isdigit():
                raise DataError(path, f"line {lineno}: expected '<path> <label>'")
            items.append((rel, int(label)))
    if not items:
        raise DataError(path, "list file is empty")
    return items


def make_subset(items: Sequence[tuple[str, int]], fraction: float, seed: int = 0) -> list[tuple[str, int]]:
    """floor(fraction × class count) items of every class, seeded (MSTAR SOC: 10 % -> 268, 30 % -> 817)."""
    by_class: dict[int, list] = defaultdict(list)
    for item in items:
        by_class[item[1]].append(item)
    rng = random.Random(seed)
    chosen = []
    for label in sorted(by_class):
        group = sorted(by_class[label])
        rng.shuffle(group)
        chosen += group[: int(fraction * len(group) + 1e-9)]
    return sorted(chosen)


# --- datasets --------------------------------------------------------------------------------------------------------

class ChipDataset(LabelledImages):
    """Shared machinery: (path, label) items decoded once into memory, resized, as {"image", "label", "path"}."""

    def __init__(self, root: Path, items: list[tuple[str, int]], classes: Sequence[str], image_size: int,
                 transform: Callable | None):
        if not items:
            raise DataError(root, "no chips found")
        self.root, self.items, self.classes = root, items, list(classes)
        self.image_size, self.transform = image_size, transform
        self._cache: dict[str, torch.Tensor] = {}  # by chip path, so views with other items share it safely

    def decode(self, path: Path) -> np.ndarray:
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        rel, label = self.items[index]
        if rel not in self._cache:
            self._cache[rel] = resize(torch.from_numpy(self.decode(self.root / rel))[None], self.image_size)
        image = self._cache[rel]
        if self.transform is not None:
            image = self.transform(image)
        return {"image": image, "label": label, "path": str(self.root / rel)}


def translation_windows(window: int | None) -> tuple[Callable | None, Callable | None]:
    """(train, test) transforms for MSTAR translation augmentation: a random window × window crop of each chip in
    training, the centre window at test (the A-ConvNet protocol: 88 of 128). None, None when `window` is None.

    Translation is the augmentation that suits MSTAR: the target sits near the chip centre at a varying offset, while
    flips mirror the side the radar shadow falls on and rotations turn it away from the range direction.
    """
    if window is None:
        return None, None
    return v2.RandomCrop(window), v2.CenterCrop(window)


SPLIT_FOLDERS = {"train": ("train", "TRAIN", "Train"), "test": ("test", "TEST", "Test")}


def find_split_folder(root: Path, split: str) -> Path:
    """`<root>/<split>` under the spellings the MSTAR releases use: train/TRAIN, test/TEST, or the one TEST_<angle>
    folder of an EOC release (TEST_30); several candidates are an error that asks for --train-dir/--test-dir."""
    for name in SPLIT_FOLDERS.get(split, (split,)):
        if (root / name).is_dir():
            return root / name
    prefix = SPLIT_FOLDERS.get(split, (split,))[0]
    candidates = sorted(p for p in root.iterdir() if p.is_dir() and p.name.lower().startswith(prefix + "_")) \
        if root.is_dir() else []
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        names = ", ".join(p.name for p in candidates)
        raise DataError(root, f"several {split} folders ({names}): choose one with {split}_dir (--{split}-dir)")
    raise DataError(root / split, "MSTAR folder not found")


def list_chips(folder: Path) -> list[Path]:
    """Every chip under a class folder, nested sub-folders included (serial numbers, depression angles)."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")
                  and (p.suffix.lower() in IMAGE_EXTENSIONS or is_phoenix(p)))


class MSTARDataset(ChipDataset):
    """MSTAR in the class-folder layouts of its releases: `<root>/<split>/<CLASS>/**/*` (JPEG/PNG/TIFF/BMP or raw
    Phoenix files), SOC (`train/`, `test/`) and EOC (`TRAIN/T72/A64/`, `TEST_30/2S1/30_DEG/`) alike; `split=None`
    reads `root` itself as the split folder (an explicit --train-dir/--test-dir).

    Labels follow the sorted training class folders (SOC: 2S1, BMP2, BRDM2, BTR60, BTR70, D7, T62, T72, ZIL131,
    ZSU234). A test set is opened with `classes=` the training classes: its labels then follow training whatever its
    own folders are; a class it lacks is fine, a class training never saw is an error. Chips are centre-cropped to
    `crop` first, then resized to `image_size` (default: no resize). `list_file` restricts the set to the listed
    "<path relative to root> <label>" lines (e.g. a 10 % training subset).
    """

    def __init__(self, root: str | Path, split: str | None = "train", crop: int = 128, image_size: int | None = None,
                 list_file: str | Path | None = None, transform: Callable | None = None,
                 classes: Sequence[str] | None = None):
        root = Path(root)
        base = find_split_folder(root, split) if split else root
        if not base.is_dir():
            raise DataError(base, "MSTAR folder not found")
        found = sorted(p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))
        if not found:
            raise DataError(base, "no class folders")
        if classes is not None:
            unknown = [name for name in found if name not in classes]
            if unknown:
                raise DataError(base / unknown[0], f"class {unknown[0]} is not one of the training classes "
                                                   f"({', '.join(classes)})")
        classes = list(classes) if classes is not None else found
        items: list[tuple[str, int]] = []
        for label, name in enumerate(classes):
            if name not in found:
                continue
            files = list_chips(base / name)
            if not files:
                raise DataError(base / name, "class folder is empty (no chips)")
            items += [(str(p.relative_to(root)), label) for p in files]
        if list_file is not None:
            listed = read_list_file(list_file)
            known = dict(items)
            for rel, label in listed:
                if rel not in known:
                    raise DataError(list_file, f"lists {rel}, which is not a chip of {base}")
                if known[rel] != label:
                    raise DataError(list_file, f"gives {rel} label {label}, its folder says {known[rel]}")
            items = listed
        self.crop, self.split_folder = crop, base
        super().__init__(root, items, classes, image_size or crop, transform)

    def decode(self, path: Path) -> np.ndarray:
        return read_mstar_chip(path, self.crop)


_OSS_NAME = re.compile(r"^(?:Visual_)?(?P<cls>.+?)_x\d+_y\d+(?:_(?P<pol>vv|vh|hh|hv))?\.tiff?$", re.IGNORECASE)


def scan_opensarship(root: str | Path, source: str = "uint8", polarisation: str = "vv") -> list[tuple[str, str, int]]:
    """(relative path, class, chip side) of every chip of every scene folder under `root`.

    source: "uint8" (Patch_Uint8, the paper's 8-bit chips), "cal" (Patch_Cal σ0) or "patch" (Patch, raw).
    Dual-pol Patch_Uint8 chips exist per polarisation (`_vv`/`_vh`); single-pol ones have no suffix.
    """
    root = Path(root)
    folder = {"uint8": "Patch_Uint8", "cal": "Patch_Cal", "patch": "Patch"}[source]
    out = []
    for scene in sorted(p for p in root.iterdir() if (p / folder).is_dir()):
        for path in sorted((scene / folder).iterdir()):
            match = _OSS_NAME.match(path.name)
            if not match:
                continue
            pol = (match.group("pol") or "").lower()
            if source == "uint8" and pol and pol != polarisation:
                continue
            shape = read_raster(path).shape
            out.append((str(path.relative_to(root)), match.group("cls").replace("_", " "), max(shape[:2])))
    if not out:
        raise DataError(root, f"no OpenSARShip chips in */{folder}/")
    return out


class OpenSARShipDataset(ChipDataset):
    """OpenSARShip in its original per-scene layout (`<scene>/Patch_Uint8/Visual_<Class>_x.._y.._vv.tif`, ...).

    The label is the class prefix of the chip name. `scale` keeps chips whose side is in the paper's range (small
    20–60 px, medium 60–120, large > 120) and resizes them to 32 / 96 / 128. Train/test is 1:1 per class, seeded and
    written to `split_dir/opensarship_<scale>_seed<seed>.txt` (reused when present). Classes: `classes`, or every
    class with at least 2 chips at that scale (sorted); a chip of a class outside the list is left out.
    """

    def __init__(self, root: str | Path, split: str = "train", scale: str | None = "large", source: str = "uint8",
                 polarisation: str = "vv", classes: Sequence[str] | None = None, image_size: int | None = None,
                 seed: int = 0, split_dir: str | Path | None = None, transform: Callable | None = None):
        root = Path(root)
        lo, hi, size = OSS_SCALES[scale] if scale else (0, 10**6, 128)
        chips = [(rel, cls) for rel, cls, side in scan_opensarship(root, source, polarisation) if lo <= side < hi]
        counts = Counter(cls for _, cls in chips)
        if classes is None:
            classes = sorted(c for c, n in counts.items() if n >= 2)
        else:
            unknown = [c for c in classes if c not in counts]
            if unknown:
                raise DataError(root, f"class(es) {', '.join(unknown)} have no {scale} chips")
        index = {c: i for i, c in enumerate(classes)}
        split_file = Path(split_dir or root) / f"opensarship_{scale or 'all'}_{source}_seed{seed}.txt"
        if split_file.is_file():
            listed = read_list_file(split_file)
        else:
            rng = random.Random(seed)
            listed = []
            for cls in classes:
                group = sorted(rel for rel, c in chips if c == cls)
                rng.shuffle(group)
                half = (len(group) + 1) // 2
                listed += [(rel, 0) for rel in group[:half]] + [(rel, 1) for rel in group[half:]]
            write_list_file(split_file, sorted(listed))
        want = 0 if split == "train" else 1
        by_rel = dict(chips)
        items = []
        for rel, part in listed:
            if rel not in by_rel:
                raise DataError(split_file, f"lists {rel}, which is not a {scale} chip of {root}")
            if part == want and by_rel[rel] in index:
                items.append((rel, index[by_rel[rel]]))
        super().__init__(root, items, classes, image_size or size, transform)

    def decode(self, path: Path) -> np.ndarray:
        array = read_raster(path).astype(np.float32)
        if array.ndim == 3:
            array = np.take(array, 0, axis=-1 if array.shape[-1] <= 4 else 0)
        check_finite(array, path)
        if path.parent.name == "Patch_Uint8":
            return array / 255.0
        return magnitude_to_unit(np.abs(array))


class FUSARShipDataset(ChipDataset):
    """FUSAR-Ship in a class-folder layout (`<root>/<CLASS>/**/*.tif|png`) with the paper's six classes; other
    folders are ignored (logged). A seeded per-class split (default 8:2) is written to
    `split_dir/fusar_seed<seed>.txt` and reused."""

    def __init__(self, root: str | Path, split: str = "train", classes: Sequence[str] = FUSAR_CLASSES,
                 image_size: int = 128, train_fraction: float = 0.8, seed: int = 0,
                 split_dir: str | Path | None = None, transform: Callable | None = None):
        root = Path(root)
        if not root.is_dir():
            raise DataError(root, "FUSAR-Ship folder not found")
        folders = {p.name: p for p in root.iterdir() if p.is_dir()}
        ignored = sorted(set(folders) - set(classes))
        if ignored:
            log.info("%s: ignoring folders outside the paper's classes: %s", root, ", ".join(ignored))
        split_file = Path(split_dir or root) / f"fusar_seed{seed}.txt"
        if not split_file.is_file():
            rng = random.Random(seed)
            listed = []
            for label, name in enumerate(classes):
                if name not in folders:
                    raise DataError(root / name, f"class folder of {name} missing")
                files = sorted(str(p.relative_to(root)) for p in folders[name].rglob("*")
                               if p.suffix.lower() in IMAGE_EXTENSIONS)
                if not files:
                    raise DataError(folders[name], "class folder is empty")
                rng.shuffle(files)
                n_train = int(round(train_fraction * len(files)))
                listed += [(f, label) for f in files[:n_train]] + [(f, label + 1000) for f in files[n_train:]]
            write_list_file(split_file, sorted(listed))
        listed = read_list_file(split_file)
        test = split != "train"
        items = [(rel, label % 1000) for rel, label in listed if (label >= 1000) == test]
        super().__init__(root, items, classes, image_size, transform)

    def decode(self, path: Path) -> np.ndarray:
        array = read_raster(path).astype(np.float32)
        if array.ndim == 3:
            array = array[..., 0]
        check_finite(array, path)
        return magnitude_to_unit(array)


# --- the registry: dataset name -> reader ---------------------------------------------------------------------------

VAL_SEED = 0  # validation splits are carved with one fixed seed: every run seed and fraction is scored on the same


class TargetReader(LabelledImages):
    """What target recognition asks of a reader class besides being a `LabelledImages`: a split opened from the
    data options (`open_split`: "train", "val" or "test") and its column of Table 6 (`setting`). Adding a dataset is
    one such class and one entry in `TARGET_DATASETS`."""

    @classmethod
    def open_split(cls, data: TargetData, split: str, image_size: int, out: Path, seed: int,
                   classes: Sequence[str] | None = None) -> TargetReader:
        raise NotImplementedError

    @classmethod
    def setting(cls, data: TargetData) -> str:
        raise NotImplementedError


def validation_items(items: Sequence[tuple[str, int]], fraction: float, seed: int = VAL_SEED
                     ) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """(train, val): a seeded `fraction` of every class held out (one chip at least, for classes of two or more)."""
    by_class: dict[int, list] = defaultdict(list)
    for item in items:
        by_class[item[1]].append(item)
    rng = random.Random(seed)
    train, val = [], []
    for label in sorted(by_class):
        group = sorted(by_class[label])
        rng.shuffle(group)
        n_val = max(1, int(round(fraction * len(group)))) if len(group) > 1 else 0
        val += group[:n_val]
        train += group[n_val:]
    return sorted(train), sorted(val)


def carve(items: list[tuple[str, int]], data: TargetData, split: str) -> list[tuple[str, int]]:
    """The items of `split` ("train" or "val") from a training set's items, by `data.val_fraction`."""
    if not data.val_fraction:
        if split == "val":
            raise ConfigError("val_fraction", "a validation split needs val_fraction > 0")
        return items
    train, val = validation_items(items, data.val_fraction)
    return val if split == "val" else train


def cached_list(path: Path, make: Callable[[], list[tuple[str, int]]]) -> list[tuple[str, int]]:
    """A list file's items, written by `make()` the first time (so a resumed run reads the same subset)."""
    if not path.is_file():
        write_list_file(path, make())
    return read_list_file(path)


class MSTARChips(MSTARDataset, TargetReader):
    """MSTAR opened from the data options: the validation split (fixed seed) and the per-class training subset
    (`fraction`, seeded by the run, written to the split folder) carved from training, the translation windows."""

    @classmethod
    def open_split(cls, data: TargetData, split: str, image_size: int, out: Path, seed: int,
                   classes: Sequence[str] | None = None) -> MSTARChips:
        root = data.root
        if root is None and not data.train_dir:
            root = str(simulated_mstar_root(data.sim_per_class, data.sim_per_class, seed=0))
        size = image_size if image_size != data.crop else None
        train_tf, test_tf = translation_windows(data.random_crop)
        if split == "test":
            where = (data.test_dir, None) if data.test_dir else (root, "test")
            return cls(*where, data.crop, size, transform=test_tf, classes=classes)
        where = (data.train_dir, None) if data.train_dir else (root, "train")
        chips = cls(*where, data.crop, size, transform=train_tf if split == "train" else test_tf, classes=classes)
        items = carve(chips.items, data, split)
        if split == "train" and data.fraction < 1.0:
            tag = f"_val{data.val_fraction:g}" if data.val_fraction else ""
            path = Path(data.split_dir or out) / f"mstar_train_{int(round(data.fraction * 100))}pct_seed{seed}{tag}.txt"
            items = cached_list(path, lambda: make_subset(items, data.fraction, seed))
        chips.items = items
        return chips

    @classmethod
    def setting(cls, data: TargetData) -> str:
        folder = Path(data.test_dir).name if data.test_dir else "test"
        return f"mstar-{int(round(data.fraction * 100))}" + ("" if folder.lower() == "test" else f"-{folder}")


class OpenSARShipChips(OpenSARShipDataset, TargetReader):
    """OpenSARShip opened from the data options (its seeded 1:1 split per class, validation carved from train)."""

    @classmethod
    def open_split(cls, data: TargetData, split: str, image_size: int, out: Path, seed: int,
                   classes: Sequence[str] | None = None) -> OpenSARShipChips:
        chips = cls(data.root, "test" if split == "test" else "train", scale=data.scale, source=data.oss_source,
                    classes=classes, image_size=image_size, seed=seed, split_dir=data.split_dir or out)
        if split != "test":
            chips.items = carve(chips.items, data, split)
        return chips

    @classmethod
    def setting(cls, data: TargetData) -> str:
        return f"oss-{data.scale}"


class FUSARShipChips(FUSARShipDataset, TargetReader):
    """FUSAR-Ship opened from the data options (its seeded 8:2 split per class, validation carved from train)."""

    @classmethod
    def open_split(cls, data: TargetData, split: str, image_size: int, out: Path, seed: int,
                   classes: Sequence[str] | None = None) -> FUSARShipChips:
        chips = cls(data.root, "test" if split == "test" else "train", image_size=image_size, seed=seed,
                    split_dir=data.split_dir or out)
        if split != "test":
            chips.items = carve(chips.items, data, split)
        return chips

    @classmethod
    def setting(cls, data: TargetData) -> str:
        return "fusar"


TARGET_DATASETS: dict[str, type[TargetReader]] = {"mstar": MSTARChips, "opensarship": OpenSARShipChips,
                                                  "fusar": FUSARShipChips}


# --- options -----------------------------------------------------------------------------------------------------

@dataclass
class TargetData:
    """Where the target chips come from and how they are cut: the data options of target recognition."""

    dataset: str = option("mstar", "mstar (any MSTAR-layout train/test pair), opensarship or fusar",
                          choices=tuple(TARGET_DATASETS))
    root: str | None = option(None, "dataset folder; None: the built-in SAR simulator (MSTAR-format chips)",
                              flag="data_root")
    train_dir: str | None = option(None, "MSTAR training class folders (instead of <data-root>/train)")
    test_dir: str | None = option(None, "MSTAR test class folders (instead of <data-root>/test, TEST_30…)")
    fraction: float = option(1.0, "MSTAR training fraction per class (0.1, 0.3, 1)", bounds=(1e-9, 1.0))
    crop: int = option(128, "MSTAR centre crop before anything else (chip size gives the class away)",
                       bounds=(16, 4096))
    random_crop: int | None = option(None, "MSTAR translation augmentation: train on a random C×C window of each "
                                           "(resized) chip, test on the centre window (A-ConvNet: 88 of 128); no "
                                           "flips, which would mirror the radar shadow. The paper used none",
                                     metavar="C", bounds=(1, 4096))
    scale: str = option("large", "OpenSARShip chip scale (the paper trains small at 32 px, medium at 96, large at "
                                 "128: set img_size to match)", choices=("small", "medium", "large"))
    oss_source: str = option("uint8", "OpenSARShip chips: uint8 (Patch_Uint8), cal (σ0) or patch (raw)",
                             choices=("uint8", "cal", "patch"))
    split_dir: str | None = option(None, "where split/subset lists are written (None: the run folder)")
    val_fraction: float = option(0.0, "hold out this seeded share of every training class as the validation split "
                                      "(0: none); with it, the test set is not read", bounds=(0.0, 0.9))
    sim_per_class: int = option(40, "simulated chips per class and split", bounds=(1, None))

    def __post_init__(self) -> None:
        if self.dataset != "mstar" and (self.train_dir or self.test_dir):
            raise ConfigError("train_dir", f"train_dir/test_dir are MSTAR folders, not {self.dataset}'s")
        if self.dataset != "mstar" and self.root is None:
            raise ConfigError("data_root", f"{self.dataset} needs its data folder (the simulator writes MSTAR "
                                           "chips only)")
