"""The self-supervised pre-training pool: every real SAR image of the shared data that no downstream test set holds,
cut once into fixed-size tiles at several scales and kept in memory, with a manifest that says what went in.

Input contract (every tile): ONE grey channel in [0, 1] by the source's storage format (`grey_unit`: uint8 / 255,
uint16 / 65535, complex SLC |z| / 65535 clipped; RGB by BT.601 luma; float dB GeoTIFFs min–max per band, the
BigEarthNet storage convention of the authors); then, on the batch, Reinhard–Devlin DRAE where the format needs it
(16-bit / linear amplitude: the TSX SLC chips; flagged per tile), 8-bit display products as stored; then per-image
standardisation (`sarhub.ssl.views`).

How a source is cut (tile side S, 128 by default):
- "scene" (large images): non-overlapping S·s windows on a centred grid for every scale s = 1, 2, 4, … whose window
  fits, each averaged down by s (area averaging: multi-looking), so one scene gives tiles at several ground scales;
- "chip" (small images): the whole chip resized to S (bilinear, antialiased);
- "centre" (MSTAR chips, whose size gives the class away): the centre 128 px, resized to S.

`shared_pool_sources(root)` lists the pool (`POOL_SOURCES`): Sentinel-1 VH scenes (s1s2_pairs/sar), the TSX SLC
train + val chips (its test split, carved as `sarhub.data.tsx_slc` carves it, stays out), HRSID images (not their
masks), SAR-Ship chips, BigEarthNet-S1 VV and VH, SEN12MS-S1 VV and VH. Always out: MSTAR SOC 15° test, EOC-1 30°
test, the SSDD test split, OpenSARShip (the benchmark scores it), mstar_raw, RSSCN7 (optical). `in_domain=True` adds
the downstream TRAINING images (MSTAR SOC train, EOC-1 train, SSDD train split per annotations/train.json) and says
so in the pool's name and manifest.
"""
from __future__ import annotations

import csv
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from sarhub.data.imageio import AMPLITUDE_SCALE, check_finite, grey_unit, minmax, read_raster
from sarhub.data.tsx_slc import is_tsx_slc, read_label_map, split_items
from sarhub.data.unlabelled import scan_images
from sarhub.errors import DataError

log = logging.getLogger(__name__)

STORAGES = ("grey", "dB")  # grey: by dtype (grey_unit); dB: float dB, min–max per band
CUTS = ("scene", "chip", "centre")
MSTAR_CROP = 128  # MSTAR's usual centre crop: the chip size leaks the class

# What never enters either pool, and why (written into every manifest).
EXCLUDED = (
    ("mstar_soc/test", "MSTAR SOC 15° test chips: downstream test set"),
    ("mstar_eoc_depression/TEST_30", "MSTAR EOC-1 30° test chips: downstream test set"),
    ("ssdd (annotations/test.json)", "SSDD official test split: downstream test set"),
    ("tsx_slc (carved test split)", "the TSX SLC test chips the benchmark probes on (sarhub.data.tsx_slc)"),
    ("opensarship", "OpenSARShip: the benchmark scores it"),
    ("mstar_raw", "raw MSTAR chips of the SOC classes"),
    ("rsscn7_optical", "optical, not SAR"),
    ("hrsid/*_instance_*", "instance masks, not images"),
)
DOWNSTREAM_TRAIN = (
    ("mstar_soc/train", "MSTAR SOC 17° training chips"),
    ("mstar_eoc_depression/TRAIN", "MSTAR EOC-1 17° training chips"),
    ("ssdd (annotations/train.json)", "SSDD official training split"),
)


@dataclass(frozen=True)
class PoolSource:
    """One source of the pool: its files, how they are stored, whether they take Reinhard–Devlin DRAE, how cut."""

    name: str
    files: tuple[Path, ...]
    storage: str = "grey"
    drae: str = "none"  # "rd" (16-bit / linear amplitude) or "none" (8-bit display products, dB stretched)
    cut: str = "scene"
    note: str = ""

    def __post_init__(self) -> None:
        if self.storage not in STORAGES or self.cut not in CUTS or self.drae not in ("rd", "none"):
            raise ValueError(f"{self.name}: storage {self.storage!r}, cut {self.cut!r}, drae {self.drae!r}")
        if not self.files:
            raise DataError(None, f"pool source {self.name} has no files")


def folder_source(name: str, roots: Sequence[str | Path], exclude: Sequence[str] = (), **kwargs) -> PoolSource:
    """Every image under `roots` (recursive; `exclude` globs left out) as one source."""
    return PoolSource(name, tuple(scan_images(roots, exclude=exclude)), **kwargs)


def coco_file_names(path: Path) -> list[str]:
    """The image file names a COCO json lists."""
    try:
        return sorted(image["file_name"] for image in json.loads(path.read_text())["images"])
    except FileNotFoundError:
        raise DataError(path, "COCO annotation file not found") from None
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise DataError(path, f"not a COCO annotation file ({exc})") from None


def tsx_slc_files(root: Path, splits: Sequence[str] = ("train", "val")) -> list[Path]:
    """The chips of the given TSX SLC splits, as `sarhub.data.tsx_slc` draws them (its test split carved alike)."""
    classes = read_label_map(root)
    return [root / "slc_data" / rel for split in splits for rel, _ in split_items(root, split, classes)]


def downstream_test_files(root: Path) -> set[Path]:
    """Every downstream test image under the shared-data `root` that exists there (the guard of `build_pool`)."""
    files: set[Path] = set()
    for folder in (root / "mstar_soc" / "test", root / "mstar_eoc_depression" / "TEST_30", root / "opensarship",
                   root / "mstar_raw"):
        if folder.is_dir():
            files.update(p.resolve() for p in folder.rglob("*") if p.is_file())
    if (root / "ssdd" / "annotations" / "test.json").is_file():
        files.update((root / "ssdd" / "JPEGImages" / f).resolve()
                     for f in coco_file_names(root / "ssdd" / "annotations" / "test.json"))
    if is_tsx_slc(root / "tsx_slc"):
        files.update(p.resolve() for p in tsx_slc_files(root / "tsx_slc", ("test",)))
    return files


def shared_pool_sources(root: str | Path, in_domain: bool = False) -> list[PoolSource]:
    """The pool's sources under the shared-data `root` (see the module docstring); a missing folder is an error."""
    root = Path(root)
    sources = [
        folder_source("s1s2_pairs/sar", [root / "s1s2_pairs" / "sar"], note="Sentinel-1 GRD VH, 8-bit, 1024² scenes"),
        PoolSource("tsx_slc train+val", tuple(tsx_slc_files(root / "tsx_slc")), drae="rd", cut="chip",
                   note="TerraSAR-X HH SLC 64² chips, |z| / 65535; test split left out"),
        folder_source("hrsid", [root / "hrsid"], exclude=["*_instance_*"], note="HRSID 800² images (R=G=B)"),
        folder_source("sar_ship", [root / "sar_ship" / "images"], note="SAR-Ship-Dataset 256² chips"),
        folder_source("bigearthnet_s1", [root / "bigearthnet_s1"], storage="dB", cut="chip",
                      note="BigEarthNet-S1 VV and VH 120² dB"),
        folder_source("sen12ms_s1", [root / "sen12ms_s1"], exclude=["*_lc_*"], storage="dB",
                      note="SEN12MS-S1 VV and VH 256² dB"),
    ]
    if in_domain:
        ssdd = root / "ssdd"
        sources += [
            folder_source("mstar_soc/train", [root / "mstar_soc" / "train"], cut="centre",
                          note="DOWNSTREAM TRAINING: MSTAR SOC 17° chips, centre 128"),
            folder_source("mstar_eoc_depression/TRAIN", [root / "mstar_eoc_depression" / "TRAIN"], cut="centre",
                          note="DOWNSTREAM TRAINING: MSTAR EOC-1 17° chips, centre 128"),
            PoolSource("ssdd train", tuple(ssdd / "JPEGImages" / f
                                           for f in coco_file_names(ssdd / "annotations" / "train.json")),
                       note="DOWNSTREAM TRAINING: SSDD official training split"),
        ]
    return sources


def read_images(source: PoolSource, amplitude_scale: float = AMPLITUDE_SCALE) -> Iterator[tuple[str, np.ndarray]]:
    """(label, grey H×W float32 in [0, 1]) of every image of a source; a dB file gives one image per band."""
    for path in source.files:
        array = read_raster(path)
        if source.storage == "grey":
            yield str(path), grey_unit(array, path, amplitude_scale)
            continue
        array = array.astype(np.float32)
        check_finite(array, path)
        bands = array[..., None] if array.ndim == 2 else array
        if bands.ndim != 3 or bands.shape[-1] > 4:
            raise DataError(path, f"expected an H×W or H×W×bands dB raster, got shape {array.shape}")
        for b in range(bands.shape[-1]):
            yield f"{path}#band{b}", minmax(bands[..., b])


def cut_image(image: torch.Tensor, size: int, cut: str) -> dict[float, torch.Tensor]:
    """Tiles of one H×W image (see the module docstring), by scale {source px per tile px: N×S×S}; a chip's scale
    is its side over S (0.5: a 64 px chip upsampled to 128)."""
    h, w = image.shape
    x = image[None, None].float()
    if cut == "centre":
        c = min(MSTAR_CROP, h, w)
        y0, x0 = (h - c) // 2, (w - c) // 2
        x, h, w = x[..., y0:y0 + c, x0:x0 + c], c, c
        cut = "chip"
    if cut == "chip" or min(h, w) < size:
        tile = x if (h, w) == (size, size) else F.interpolate(x, size=(size, size), mode="bilinear",
                                                               align_corners=False, antialias=True)
        return {round(min(h, w) / size, 2): tile[:, 0]}
    out: dict[float, torch.Tensor] = {}
    scale = 1
    while size * scale <= min(h, w):
        window = size * scale
        ny, nx = h // window, w // window
        y0, x0 = (h - ny * window) // 2, (w - nx * window) // 2
        grid = F.avg_pool2d(x[..., y0:y0 + ny * window, x0:x0 + nx * window], scale) if scale > 1 else \
            x[..., y0:y0 + ny * window, x0:x0 + nx * window]
        out[float(scale)] = grid[0, 0].reshape(ny, size, nx, size).permute(0, 2, 1, 3).reshape(ny * nx, size, size)
        scale *= 2
    return out


@dataclass
class SARPool(Dataset):
    """All tiles of a pool in memory: `tiles` N×1×S×S float16 in [0, 1], `rd` N bool (takes Reinhard–Devlin DRAE),
    `source` N int (index into `sources`), and the per-source counts of the manifest. Items {"image", "rd"}."""

    name: str
    tile_size: int
    tiles: torch.Tensor
    rd: torch.Tensor
    source: torch.Tensor
    sources: list[dict] = field(default_factory=list)
    in_domain: bool = False
    root: str | None = None

    def __len__(self) -> int:
        return len(self.tiles)

    def __getitem__(self, index: int) -> dict:
        return {"image": self.tiles[index], "rd": self.rd[index]}

    def manifest(self) -> dict:
        return {"name": self.name, "root": self.root, "tile_size": self.tile_size, "tiles": len(self),
                "uses_downstream_training_images": self.in_domain, "sources": self.sources,
                "excluded": [{"what": w, "why": y} for w, y in EXCLUDED
                             + (() if self.in_domain else tuple((w, f"{y}: only in the in-domain variant")
                                                                for w, y in DOWNSTREAM_TRAIN))],
                "input_contract": "one grey channel in [0, 1] by storage format (uint8/255, uint16/65535, complex "
                                  "|z|/65535 clipped, RGB by BT.601 luma, float dB min–max per band); Reinhard–Devlin "
                                  "DRAE on tiles flagged rd (16-bit/linear amplitude), 8-bit as stored; per-image "
                                  "standardisation"}

    def write_manifest(self, out_dir: str | Path) -> tuple[Path, Path]:
        """`pool_manifest.json` (everything) and `pool_manifest.csv` (one row per source) in `out_dir`."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        json_path, csv_path = out / "pool_manifest.json", out / "pool_manifest.csv"
        json_path.write_text(json.dumps(self.manifest(), indent=1) + "\n")
        columns = ("source", "files", "images", "pixels", "storage", "drae", "cut", "crops", "tiles", "note")
        with open(csv_path, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
            writer.writeheader()
            for row in self.sources:
                crops = " ".join(f"{s}x:{n}" for s, n in row["crops"].items())
                writer.writerow({**row, "crops": crops})
        return json_path, csv_path


def build_pool(sources: Sequence[PoolSource], tile_size: int = 128, name: str = "sar_pool",
               in_domain: bool = False, root: str | Path | None = None,
               forbidden: set[Path] | None = None) -> SARPool:
    """Decode and cut every source once. `forbidden` (e.g. `downstream_test_files(root)`): a source file among them
    is an error, not a silent leak of a test image into pre-training."""
    tiles, rd, source_ids, rows = [], [], [], []
    for index, src in enumerate(sources):
        leaked = [p for p in src.files if forbidden and Path(p).resolve() in forbidden]
        if leaked:
            raise DataError(leaked[0], f"is a downstream test image but listed in pool source {src.name}")
        crops: dict[float, int] = {}
        images = pixels = 0
        for _, image in read_images(src):
            images += 1
            pixels += image.size
            for scale, cut in cut_image(torch.from_numpy(image), tile_size, src.cut).items():
                crops[scale] = crops.get(scale, 0) + len(cut)
                tiles.append(cut.half())
        n = sum(crops.values())
        rd.append(torch.full((n,), src.drae == "rd"))
        source_ids.append(torch.full((n,), index))
        rows.append({"source": src.name, "files": len(src.files), "images": images, "pixels": pixels,
                     "storage": src.storage, "drae": src.drae, "cut": src.cut,
                     "crops": {str(s): crops[s] for s in sorted(crops)}, "tiles": n, "note": src.note})
        log.info("pool source %s: %d files -> %d tiles", src.name, len(src.files), n)
    return SARPool(name, tile_size, torch.cat(tiles)[:, None], torch.cat(rd), torch.cat(source_ids), rows,
                   in_domain, None if root is None else str(root))


def shared_pool(root: str | Path, in_domain: bool = False, tile_size: int = 128) -> SARPool:
    """The pool (or its in-domain variant) of the shared data at `root`, guarded against downstream test images."""
    root = Path(root)
    return build_pool(shared_pool_sources(root, in_domain), tile_size,
                      "sar_pool_in_domain" if in_domain else "sar_pool", in_domain, root, downstream_test_files(root))
