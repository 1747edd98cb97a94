"""The Model-Hub: named SAR pre-trained backbones, the input each expects, and loading that trusts only verified files.

A name such as "senet50-tsx" is looked up in the manifest shipped inside the package (sarhub/hub_manifest.json)
overlaid by the user's own registrations ($SARHUB_MANIFEST, default ~/.cache/sarhub/manifest.json). Its file is
searched in: the `weights_dir` argument, $SARHUB_WEIGHTS, the checkout's weights/files/ folder (files committed with
the repository load on a fresh clone) and ~/.cache/sarhub/weights. A file loads only if its sha256 matches the manifest;
an entry without one (the authors' release until you convert it) is refused. Files are safetensors only, and carry
the entry and its input contract in their metadata.

    python -m sarhub.hub list                                   # the table of weights (Markdown)
    python -m sarhub.hub show senet50-tsx                       # one entry and the input its network expects
    python -m sarhub.hub convert --source SENet50_TSX.pth --name senet50-tsx     # the authors' release
    python -m sarhub.hub export --checkpoint runs/x/checkpoint_best.pth --name resnet18-x --amplitude-scale 65535
    python -m sarhub.hub register --name NAME --file FILE.safetensors           # a file you trust

This module reads the manifest and verifies files without loading any model code (backbones import it);
`sarhub.hub_tools` holds the commands that build networks (export, convert, register) and the command line.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from sarhub.checkpoints import atomic_write, write_text_atomic
from sarhub.config import IMG_SIZE, from_flat, leaves, to_flat, upgrade
from sarhub.drae import DRAEConfig
from sarhub.errors import ConfigError, WeightsError
from sarhub.preprocess import InputOptions

PACKAGE = Path(__file__).resolve().parent
REPO = PACKAGE.parent
PACKAGED_MANIFEST = PACKAGE / "hub_manifest.json"
ENTRY_FIELDS = ("name", "architecture", "pretraining", "num_classes", "file", "sha256", "size", "score", "metric",
                "source", "input")
OPTIONAL_FIELDS = ("patch_size",)  # ViT encoders of the MIM pre-training
_TEXT_FIELDS = ("name", "architecture", "pretraining", "file", "metric", "source")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


@dataclass(frozen=True)
class InputContract:
    """The input a network saw in pre-training: what to feed it, and what a fine-tuning run should know it changes.

    `options` are the run's input options (size, DRAE, log transform, per-image standardisation; one type with the
    training configs), `norm_mean`/`norm_std` the statistics measured on its training split, `amplitude_scale` how
    raw amplitude became the 0–1 image (a divisor, or a description). Stored flat, under the options' own names.
    """

    in_chans: int
    options: InputOptions
    amplitude_scale: float | str | None = None
    norm_mean: tuple[float, ...] | None = None
    norm_std: tuple[float, ...] | None = None

    @property
    def img_size(self) -> int:
        return self.options.img_size

    @property
    def drae(self) -> DRAEConfig:
        return self.options.drae

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], where: str | Path | None) -> InputContract:
        """From its stored form (a manifest entry's "input", a safetensors file's metadata, a run's saved args)."""
        facts = ("in_chans", "amplitude_scale", "norm_mean", "norm_std")
        names = set(leaves(InputOptions))
        unknown = sorted(set(values) - names - set(facts))
        if unknown or not {"in_chans", "img_size"} <= set(values):
            raise WeightsError(where, f"bad input contract {dict(values)} (fields: {', '.join((*facts, *names))})")
        try:
            options = from_flat(InputOptions, {k: v for k, v in values.items() if k in names})
        except ConfigError as exc:
            raise WeightsError(where, f"bad input contract: {exc}") from None
        mean, std = values.get("norm_mean"), values.get("norm_std")
        return cls(int(values["in_chans"]), options, values.get("amplitude_scale"),
                   None if mean is None else tuple(float(v) for v in mean),
                   None if std is None else tuple(float(v) for v in std))

    @classmethod
    def from_run(cls, args: Mapping[str, Any], amplitude_scale: float | str | None = None) -> InputContract:
        """The contract of a classifier run from its saved arguments: its input options, channels, the window its
        model saw (`input_size`, e.g. a random-crop window, else the resize size) and its measured mean/std."""
        args = upgrade(args)
        values = {k: args[k] for k in (*leaves(InputOptions), "in_chans", "norm_mean", "norm_std") if k in args}
        values["img_size"] = args.get("input_size", args.get("img_size", IMG_SIZE))
        values.setdefault("in_chans", 1)
        values["amplitude_scale"] = amplitude_scale if amplitude_scale is not None else args.get("amplitude_scale")
        return cls.from_dict(values, None)

    def as_dict(self) -> dict[str, Any]:
        return {"in_chans": self.in_chans, "img_size": self.img_size, "amplitude_scale": self.amplitude_scale,
                **{k: v for k, v in to_flat(self.options).items() if k != "img_size"},
                "norm_mean": None if self.norm_mean is None else list(self.norm_mean),
                "norm_std": None if self.norm_std is None else list(self.norm_std)}

    def preprocess(self) -> nn.Module:
        """The batch preprocessing (DRAE at its test value → per-image standardisation → mean/std) this network
        was pre-trained with, in eval mode; inputs are B×C×H×W images in [0, 1]."""
        if self.norm_mean is None or self.norm_std is None:
            raise WeightsError(None, "these weights record no normalisation mean/std, so their preprocessing is "
                                     "unknown")
        return self.options.preprocess(self.norm_mean, self.norm_std).eval()

    def pretrained_cfg(self, num_classes: int = 0) -> dict[str, Any]:
        """timm's `pretrained_cfg` of these weights (what `timm.data.resolve_data_config` reads): input size,
        bilinear resize without crop, and the mean/std applied after the contract's DRAE and per-image steps, which
        timm's transforms cannot express: `preprocess()` applies all of them."""
        n = self.in_chans
        return {"input_size": [n, self.img_size, self.img_size], "interpolation": "bilinear", "crop_pct": 1.0,
                "crop_mode": "center", "mean": list(self.norm_mean or [0.0] * n),
                "std": list(self.norm_std or [1.0] * n), "num_classes": num_classes,
                "description": f"SAR-HUB weights: {n} grey channel(s) in [0, 1], DRAE {self.drae.method} (test value "
                               f"{self.drae.test_value:g}), per-image standardisation "
                               f"{'on' if self.options.per_image_norm else 'off'}, then mean/std; "
                               "sarhub.hub.InputContract(...).preprocess() applies all of it"}

    def describe(self) -> list[str]:
        d = self.drae
        drae = "none" if d.method == "none" else (
            f"{d.method}, test value {d.test_value} (training range {list(d.train_range)}"
            + (f", fixed x_avg {d.x_avg}" if d.x_avg is not None else "") + ")")
        norm = ("not recorded" if self.norm_mean is None else
                f"mean {list(self.norm_mean)}, std {list(self.norm_std or ())}")
        lines = [f"input:            {self.in_chans} channel(s), {self.img_size}×{self.img_size} px",
                 f"amplitude scale:  {'not recorded' if self.amplitude_scale is None else self.amplitude_scale}",
                 f"DRAE:             {drae}"]
        if self.options.log_transform:
            lines.append(f"log transform:    s = {self.options.log_transform}")
        return lines + [f"per-image std.:   {'yes' if self.options.per_image_norm else 'no'}",
                        f"normalisation:    {norm}"]


def check_name(name: str) -> str:
    """A Model-Hub name becomes a file name: letters, digits, '.', '_', '+', '-' only, so it stays in its folder."""
    if not _NAME.fullmatch(name) or ".." in name:
        raise WeightsError(None, f"invalid Model-Hub name {name!r}: use letters, digits, '.', '_', '+' and '-' only")
    return name


def user_dir() -> Path:
    return Path.home() / ".cache" / "sarhub"


def user_manifest_path() -> Path:
    return Path(os.environ.get("SARHUB_MANIFEST") or user_dir() / "manifest.json")


def default_weights_dir() -> Path:
    """Where convert, export and register write files unless told otherwise."""
    return Path(os.environ.get("SARHUB_WEIGHTS") or user_dir() / "weights")


def read_manifest(path: str | Path) -> dict[str, dict]:
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        entries = json.loads(path.read_text())["weights"]
        return {e["name"]: e for e in entries}
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise WeightsError(path, f"not a Model-Hub manifest ({exc})") from None


def load_manifest() -> dict[str, dict]:
    """The packaged entries overlaid by the user's registrations (a converted file's sha256, own exports)."""
    return {**read_manifest(PACKAGED_MANIFEST), **read_manifest(user_manifest_path())}


def entry(name: str) -> dict | None:
    return load_manifest().get(name)


def search_dirs(weights_dir: str | Path | None = None) -> list[Path]:
    dirs = [Path(weights_dir)] if weights_dir else []
    if os.environ.get("SARHUB_WEIGHTS"):
        dirs.append(Path(os.environ["SARHUB_WEIGHTS"]))
    if (REPO / "hubconf.py").is_file():  # running from a checkout: its committed weights
        dirs.append(REPO / "weights" / "files")
    return dirs + [user_dir() / "weights"]


def sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(path: str | Path, expected: str) -> None:
    actual = sha256(path)
    if actual != expected:
        raise WeightsError(path, f"sha256 mismatch: expected {expected}, got {actual} (corrupt or tampered file)")


def how_to_obtain(e: dict) -> str:
    if "authors' release" in (e.get("source") or ""):
        return (f"download the authors' {e['architecture']} {e['pretraining']} checkpoint and run `python -m "
                f"sarhub.hub convert --source <downloaded .pth> --arch {e['architecture']} --name {e['name']}` "
                "(it writes the file and registers its sha256)")
    return f"get {e['file']} from {e.get('source') or 'its publisher'}"


def resolve(name: str, weights_dir: str | Path | None = None) -> Path:
    """The verified local file of Model-Hub entry `name`."""
    known = load_manifest()
    if name not in known:
        raise WeightsError(None, f"{name!r} is neither a weights file nor a Model-Hub name "
                              f"(known: {', '.join(sorted(known)) or 'none'})")
    e = known[name]
    file = check_name(e["file"])
    if not e.get("sha256"):
        raise WeightsError(None, f"Model-Hub weights {name!r} have no sha256 yet, so no file is trusted under that name: "
                              f"{how_to_obtain(e)}; for a file you already trust: `python -m sarhub.hub register "
                              f"--name {name} --file <file>.safetensors`")
    for folder in search_dirs(weights_dir):
        path = folder / file
        if path.is_file():
            verify_sha256(path, e["sha256"])
            return path
    places = ", ".join(str(d) for d in search_dirs(weights_dir))
    raise WeightsError(None, f"weights {name!r} not found: put {file} in one of: {places} — or set weights_dir (--weights-dir) / "
                          f"set SARHUB_WEIGHTS ({how_to_obtain(e)})")


def input_contract(source: str | Path) -> InputContract | None:
    """The input contract of a Model-Hub name or of a sarhub .safetensors file (None when it records none)."""
    path = Path(source)
    if path.suffix == ".safetensors":
        contract = entry_from_metadata(read_metadata(path)).get("input")
        return None if contract is None else InputContract.from_dict(contract, path)
    if path.suffix in (".pth", ".pt", ".bin") or path.exists():
        return None
    e = entry(str(source))
    return None if e is None or not e.get("input") else InputContract.from_dict(e["input"], f"entry {source}")


def read_metadata(path: str | Path) -> dict[str, str]:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            return handle.metadata() or {}
    except Exception as exc:
        raise WeightsError(path, f"not a valid safetensors file ({exc})") from exc


def entry_from_metadata(meta: Mapping[str, str]) -> dict[str, Any]:
    """A safetensors file's metadata back as entry fields (text fields are stored as is, the others as JSON)."""
    fields = ENTRY_FIELDS + OPTIONAL_FIELDS
    return {k: v if k in _TEXT_FIELDS else json.loads(v) for k, v in meta.items() if k in fields}


def save_backbone(state: dict[str, torch.Tensor], path: str | Path, entry_fields: dict[str, Any]) -> str:
    """Write tensors as safetensors (atomically) with the entry and its input contract as metadata; return sha256."""
    from safetensors.torch import save

    meta = {k: v if k in _TEXT_FIELDS else json.dumps(v) for k, v in entry_fields.items() if v is not None}
    data = save(state, metadata=meta)
    atomic_write(path, data)
    return sha256(path)


def register(new: dict, manifest: str | Path | None = None) -> None:
    """Add or replace an entry in `manifest` (default: the user's), written atomically."""
    path = Path(manifest) if manifest else user_manifest_path()
    entries = read_manifest(path)
    entries[check_name(new["name"])] = {k: new.get(k) for k in ENTRY_FIELDS + tuple(k for k in OPTIONAL_FIELDS
                                                                                    if k in new)}
    text = json.dumps({"weights": sorted(entries.values(), key=lambda e: e["name"])}, indent=1)
    # number lists on one line: [0.0, 2.0], not one value per line
    text = re.sub(r"\[\s+([^\[\]{}\"]*?)\s+\]", lambda m: f"[{', '.join(v.strip() for v in m[1].split(','))}]", text)
    write_text_atomic(path, text + "\n")


def markdown_table() -> str:
    rows = ["| name | architecture | pre-training | classes | input | DRAE (test) | score | sha256 | source |",
            "|---|---|---|---|---|---|---|---|---|"]
    for e in load_manifest().values():
        digest = (e.get("sha256") or "none yet")[:12]
        score = "" if e.get("score") is None else f"{e['score']} {e.get('metric') or ''}".strip()
        c = e.get("input") or {}
        drae = c.get("drae_method", "?") if c.get("drae_method", "none") == "none" else \
            f"{c['drae_method']} ({c.get('drae_test')})"
        rows.append(f"| {e['name']} | {e['architecture']} | {e['pretraining']} | {e['num_classes']} | "
                    f"{c.get('in_chans', '?')}×{c.get('img_size', '?')}² | {drae} | {score} | {digest} | "
                    f"{e.get('source', '')} |")
    return "\n".join(rows)


def show(name: str) -> str:
    """One entry (or a .safetensors file's metadata) and the input contract its network expects."""
    if Path(name).suffix == ".safetensors":
        e = {"name": Path(name).stem, **entry_from_metadata(read_metadata(name))}
    else:
        e = entry(name)
        if e is None:
            raise WeightsError(None, f"no Model-Hub entry {name!r}; `python -m sarhub.hub list` prints them")
    lines = [f"{e['name']}: {e.get('architecture')} pre-trained on {e.get('pretraining')}, "
             f"{e.get('num_classes')} classes" + (f", {e['score']} {e.get('metric', '')}" if e.get('score') else "")]
    if "sha256" in e or "file" in e:
        lines.append(f"file:             {e.get('file')}, sha256 "
                     f"{e.get('sha256') or 'none yet: ' + how_to_obtain(e)}")
    lines.append(f"source:           {e.get('source')}")
    if e.get("input"):
        lines += InputContract.from_dict(e["input"], name).describe()
    else:
        lines.append("input:            not recorded")
    lines.append(f"use:              model = sarhub.create_model(\"{e.get('architecture')}\", weights=\"{e['name']}\", "
                 "num_classes=N); preprocess = model.input_contract.preprocess()")
    if e.get("input") and e.get("file"):
        contract = InputContract.from_dict(e["input"], name)
        lines.append(f"timm:             timm.create_model(\"{e.get('architecture')}\", pretrained=True, in_chans="
                     f"{contract.in_chans}, num_classes=0, pretrained_cfg_overlay=dict(file=\"<path of "
                     f"{e['file']}>\"))")
        lines.append(f"timm cfg:         {json.dumps(contract.pretrained_cfg())}")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m sarhub.hub: the commands live with the model code they need
    from sarhub.cli import run_main
    from sarhub.hub_tools import main

    run_main(main)
