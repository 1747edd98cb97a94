"""The Model-Hub: a manifest of SAR pre-trained backbone weights, checksum-verified loading, and export of our own.

Weight files are not kept in git. A name such as "resnet50-tsx" is looked up in the manifest (weights/manifest.json,
or $SARHUB_MANIFEST), and its file in, in order: the `weights_dir` argument, $SARHUB_WEIGHTS, <repo>/weights/files,
~/.cache/sarhub/weights. The sha256 is verified before anything is loaded; files are safetensors only.

    python -m sarhub.hub list                       # the table of weights (Markdown)
    python -m sarhub.hub export --checkpoint runs/TSX_resnet50/checkpoint_best.pth --name resnet50-tsx --score 72.5
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from sarhub.errors import DataError

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MANIFEST = REPO / "weights" / "manifest.json"
ENTRY_FIELDS = ("name", "architecture", "in_chans", "img_size", "pretraining", "num_classes", "file", "sha256",
                "size", "score", "metric", "source")
OPTIONAL_FIELDS = ("patch_size",)  # ViT encoders of the MIM pre-training


def manifest_path(manifest: str | Path | None = None) -> Path:
    return Path(manifest or os.environ.get("SARHUB_MANIFEST", DEFAULT_MANIFEST))


def load_manifest(manifest: str | Path | None = None) -> dict[str, dict]:
    path = manifest_path(manifest)
    if not path.is_file():
        return {}
    try:
        entries = json.loads(path.read_text())["weights"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise DataError(path, f"not a Model-Hub manifest ({exc})") from None
    return {e["name"]: e for e in entries}


def entry(name: str, manifest: str | Path | None = None) -> dict | None:
    return load_manifest(manifest).get(name)


def search_dirs(weights_dir: str | Path | None = None) -> list[Path]:
    dirs = [Path(weights_dir)] if weights_dir else []
    if os.environ.get("SARHUB_WEIGHTS"):
        dirs.append(Path(os.environ["SARHUB_WEIGHTS"]))
    return dirs + [REPO / "weights" / "files", Path.home() / ".cache" / "sarhub" / "weights"]


def sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(path: str | Path, expected: str | None) -> None:
    """Refuse a file whose sha256 differs from the manifest's; warn loudly when the manifest has none."""
    if not expected:
        warnings.warn(f"{path}: the manifest has no sha256 for this file, so it is UNVERIFIED; register it with "
                      "`python -m sarhub.hub register` once you trust it", stacklevel=3)
        return
    actual = sha256(path)
    if actual != expected:
        raise DataError(path, f"sha256 mismatch: expected {expected}, got {actual} (corrupt or tampered file)")


def resolve(name: str, weights_dir: str | Path | None = None, manifest: str | Path | None = None) -> Path:
    """The verified local file of Model-Hub entry `name`."""
    known = load_manifest(manifest)
    if name not in known:
        raise DataError(None, f"{name!r} is neither a weights file nor a Model-Hub name "
                              f"(known: {', '.join(sorted(known)) or 'none'}; manifest {manifest_path(manifest)})")
    e = known[name]
    for folder in search_dirs(weights_dir):
        path = folder / e["file"]
        if path.is_file():
            verify_sha256(path, e.get("sha256"))
            return path
    places = ", ".join(str(d) for d in search_dirs(weights_dir))
    raise DataError(None, f"weights {name!r} not found: put {e['file']} (from {e.get('source', 'its publisher')}) "
                          f"in one of: {places} — or pass --weights-dir / set SARHUB_WEIGHTS")


def backbone_state(model: nn.Module, keep_classifier: bool = False) -> dict[str, torch.Tensor]:
    """The model's tensors without its classifier (what downstream tasks load)."""
    from sarhub.backbones import _classifier_prefix

    state = model.state_dict()
    prefix = None if keep_classifier else _classifier_prefix(model)
    return {k: v.contiguous() for k, v in state.items() if not (prefix and k.startswith(prefix))}


def save_backbone(state: dict[str, torch.Tensor], path: str | Path, metadata: dict[str, Any] | None = None) -> str:
    """Write tensors as safetensors (atomically) and return the file's sha256."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    save_file(state, str(tmp), metadata={k: str(v) for k, v in (metadata or {}).items()})
    os.replace(tmp, path)
    return sha256(path)


def register(new: dict, manifest: str | Path | None = None) -> None:
    """Add or replace a manifest entry (written atomically)."""
    path = manifest_path(manifest)
    entries = load_manifest(path)
    entries[new["name"]] = {k: new.get(k) for k in ENTRY_FIELDS + tuple(k for k in OPTIONAL_FIELDS if k in new)}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps({"weights": sorted(entries.values(), key=lambda e: e["name"])}, indent=1) + "\n")
    os.replace(tmp, path)


def export_checkpoint(checkpoint: str | Path, name: str, out_dir: str | Path, score: float | None = None,
                      metric: str = "top1 (%)", manifest: str | Path | None = None,
                      keep_classifier: bool = False) -> dict:
    """Turn one of our training checkpoints into a backbone-only safetensors file plus its manifest entry.

    A classification run exports its backbone (classifier removed unless `keep_classifier`); a
    self_supervised/pretrain_mim.py run exports its ViT encoder (no MAE decoder) as a 1-channel timm ViT.
    """
    from sarhub.engine import load_checkpoint

    state = load_checkpoint(checkpoint)
    args = state.get("args") or {}
    if "mask_ratio" in args and "encoder" in args:
        tensors, meta, what = _mim_encoder(state)
    else:
        tensors, meta, what = _classifier_backbone(state, checkpoint, keep_classifier)
    file = f"{name}.safetensors"
    digest = save_backbone(tensors, Path(out_dir) / file, meta)
    new = {"name": name, **meta, "file": file, "sha256": digest, "size": (Path(out_dir) / file).stat().st_size,
           "score": score, "metric": metric,
           "source": f"sarhub {what} run {Path(checkpoint).parent.name} (epoch {state.get('epoch')}), "
                     f"exported from {Path(checkpoint).name}"}
    register(new, manifest)
    return new


def _classifier_backbone(state: dict, checkpoint: str | Path, keep_classifier: bool):
    from sarhub.backbones import create_model
    from sarhub.classification import model_input_size

    args = state.get("args") or {}
    if "model" not in args or "num_classes" not in args:
        raise DataError(checkpoint, "has no training arguments (model, num_classes): not a sarhub checkpoint")
    model = create_model(args["model"], num_classes=args["num_classes"], in_chans=args.get("in_chans", 1),
                         img_size=model_input_size(args))
    model.load_state_dict(state["model"])
    meta = {"architecture": args["model"], "in_chans": args.get("in_chans", 1), "img_size": model_input_size(args),
            "pretraining": args.get("dataset", "unknown"), "num_classes": args["num_classes"]}
    return backbone_state(model, keep_classifier), meta, "classification"


def _mim_encoder(state: dict):
    from sarhub.ssl.mae import ENCODERS, GradientMAE

    args = state["args"]
    model = GradientMAE(args["encoder"], args["img_size"], args["patch_size"], args["decoder_dim"],
                        args["decoder_depth"], mask_ratio=args["mask_ratio"])
    model.load_state_dict(state["model"])
    meta = {"architecture": ENCODERS.get(args["encoder"], args["encoder"]), "in_chans": 1,
            "img_size": args["img_size"], "patch_size": args["patch_size"],
            "pretraining": f"gradient-feature MIM, {args.get('pool_tiles', '?')} unlabelled tiles", "num_classes": 0}
    return {k: v.contiguous() for k, v in model.encoder.state_dict().items()}, meta, "MIM (encoder only)"


def markdown_table(manifest: str | Path | None = None) -> str:
    rows = ["| name | architecture | pre-training | classes | input | score | sha256 | source |",
            "|---|---|---|---|---|---|---|---|"]
    for e in load_manifest(manifest).values():
        digest = (e.get("sha256") or "unverified")[:12]
        score = "" if e.get("score") is None else f"{e['score']} {e.get('metric') or ''}".strip()
        rows.append(f"| {e['name']} | {e['architecture']} | {e['pretraining']} | {e['num_classes']} | "
                    f"{e['in_chans']}×{e['img_size']}² | {score} | {digest} | {e.get('source', '')} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m sarhub.hub", description="SAR-HUB Model-Hub")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="print the weights table (Markdown)")
    e = sub.add_parser("export", help="export a training checkpoint as backbone safetensors + manifest entry")
    e.add_argument("--checkpoint", required=True)
    e.add_argument("--name", required=True, help="e.g. resnet50-tsx")
    e.add_argument("--out-dir", default=str(REPO / "weights" / "files"))
    e.add_argument("--score", type=float, default=None, help="its test score on the pre-training set")
    e.add_argument("--metric", default="top1 (%)")
    e.add_argument("--keep-classifier", action="store_true")
    r = sub.add_parser("register", help="record the sha256 and size of a file for an existing entry")
    r.add_argument("--name", required=True)
    r.add_argument("--file", required=True)
    for s in (e, r):
        s.add_argument("--manifest", default=None)
    args = p.parse_args(argv)
    try:
        if args.command == "list":
            print(markdown_table())
        elif args.command == "export":
            new = export_checkpoint(args.checkpoint, args.name, args.out_dir, args.score, args.metric, args.manifest,
                                    args.keep_classifier)
            print(f"exported {new['name']}: {Path(args.out_dir) / new['file']} sha256 {new['sha256']}")
        else:
            known = load_manifest(args.manifest)
            if args.name not in known:
                raise DataError(manifest_path(args.manifest), f"no entry {args.name!r}")
            register({**known[args.name], "sha256": sha256(args.file), "size": Path(args.file).stat().st_size},
                     args.manifest)
            print(f"registered {args.name}: sha256 {sha256(args.file)}")
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
