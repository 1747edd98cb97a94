"""The Model-Hub commands that build networks: export one of our training checkpoints, convert the authors'
release, register a trusted file, and the `python -m sarhub.hub` command line (see `sarhub.hub`)."""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from sarhub.authors_checkpoints import authors_layout
from sarhub.backbones import classifier_prefix, create_model, load_weights, read_state_dict, resolve_name
from sarhub.checkpoints import load_checkpoint
from sarhub.errors import DataError
from sarhub.hub import (
    InputContract,
    check_name,
    default_weights_dir,
    entry,
    markdown_table,
    register,
    save_backbone,
    sha256,
    show,
    user_dir,
)
from sarhub.ssl.mae import ENCODERS, GradientMAE


def backbone_state(model: nn.Module, keep_classifier: bool = False) -> dict[str, torch.Tensor]:
    """The model's tensors without its classifier (what downstream tasks load)."""
    state = model.state_dict()
    prefix = None if keep_classifier else classifier_prefix(model)
    return {k: v.contiguous() for k, v in state.items() if not (prefix and k.startswith(prefix))}


def _publish(tensors: dict[str, torch.Tensor], fields: dict[str, Any], out_dir: str | Path | None,
             manifest: str | Path | None) -> dict:
    """Write `<name>.safetensors` inside `out_dir` and register its entry with sha256 and size."""
    name = check_name(fields["name"])
    path = Path(out_dir or default_weights_dir()) / f"{name}.safetensors"
    fields = {**fields, "file": path.name}
    digest = save_backbone(tensors, path, {k: v for k, v in fields.items() if k not in ("sha256", "size")})
    new = {**fields, "sha256": digest, "size": path.stat().st_size}
    register(new, manifest)
    return {**new, "path": str(path)}


def export_checkpoint(checkpoint: str | Path, name: str, out_dir: str | Path | None = None,
                      score: float | None = None, metric: str = "top1 (%)", manifest: str | Path | None = None,
                      keep_classifier: bool = False, amplitude_scale: float | str | None = None,
                      pretraining: str | None = None) -> dict:
    """Turn one of our training checkpoints into a backbone-only safetensors file plus its manifest entry, the
    input contract filled from the run's saved arguments.

    A classification run exports its backbone (classifier removed unless `keep_classifier`); a
    self_supervised/pretrain_mim.py run exports its ViT encoder (no MAE decoder) as a 1-channel timm ViT.
    """
    check_name(name)
    state = load_checkpoint(checkpoint)
    args = state.get("args") or {}
    if "mask_ratio" in args and "encoder" in args:
        tensors, meta, what = _mim_encoder(state, amplitude_scale)
    else:
        tensors, meta, what = _classifier_backbone(state, checkpoint, keep_classifier, amplitude_scale)
    if pretraining:
        meta["pretraining"] = pretraining
    fields = {"name": name, **meta, "score": score, "metric": metric,
              "source": f"sarhub {what} run {Path(checkpoint).parent.name} (epoch {state.get('epoch')}), "
                        f"exported from {Path(checkpoint).name}"}
    return _publish(tensors, fields, out_dir, manifest)


def _classifier_backbone(state: dict, checkpoint: str | Path, keep_classifier: bool,
                         amplitude_scale: float | str | None):
    args = state.get("args") or {}
    if "model" not in args or "num_classes" not in args:
        raise DataError(checkpoint, "has no training arguments (model, num_classes): not a sarhub checkpoint")
    contract = InputContract.from_run(args, amplitude_scale)
    model = create_model(args["model"], num_classes=args["num_classes"], in_chans=contract.in_chans,
                         img_size=contract.img_size)
    model.load_state_dict(state["model"])
    meta = {"architecture": args["model"], "pretraining": args.get("dataset", "unknown"),
            "num_classes": args["num_classes"], "input": contract.as_dict()}
    return backbone_state(model, keep_classifier), meta, "classification"


def _mim_encoder(state: dict, amplitude_scale: float | str | None):
    args = state["args"]
    model = GradientMAE(args["encoder"], args["img_size"], args["patch_size"], args["decoder_dim"],
                        args["decoder_depth"], mask_ratio=args["mask_ratio"])
    model.load_state_dict(state["model"])
    contract = InputContract(in_chans=1, img_size=args["img_size"], amplitude_scale=amplitude_scale)
    meta = {"architecture": ENCODERS.get(args["encoder"], args["encoder"]), "patch_size": args["patch_size"],
            "pretraining": f"gradient-feature MIM, {args.get('pool_tiles', '?')} unlabelled tiles", "num_classes": 0,
            "input": contract.as_dict()}
    return {k: v.contiguous() for k, v in model.encoder.state_dict().items()}, meta, "MIM (encoder only)"


def convert_authors(source: str | Path, name: str, arch: str | None = None, out_dir: str | Path | None = None,
                    manifest: str | Path | None = None, keep_classifier: bool = False) -> tuple[dict, Any]:
    """The authors' released checkpoint → a verified 1-channel safetensors backbone registered under `name`.

    Every tensor is renamed by name and must find its place (an incomplete match fails); the entry keeps the
    manifest's input contract and score. Returns (entry, load report).
    """
    check_name(name)
    state = read_state_dict(source)
    arch = resolve_name(arch) if arch else authors_layout(state)
    if arch is None:
        raise DataError(source, "is in none of the authors' eight layouts; name the architecture with --arch")
    matrices = [v for v in state.values() if v.ndim == 2 and v.is_floating_point()]
    if not matrices:
        raise DataError(source, "has no classifier matrix: not one of the authors' classification checkpoints")
    known = entry(name) or {}
    contract = _entry_contract(known)
    model = create_model(arch, num_classes=int(matrices[-1].shape[0]), in_chans=contract.in_chans,
                         img_size=contract.img_size)
    report = load_weights(model, source, arch=arch)
    fields = {**known, "name": name, "architecture": arch, "pretraining": known.get("pretraining", "unknown"),
              "num_classes": int(matrices[-1].shape[0]), "input": contract.as_dict(),
              "source": f"authors' release ({Path(source).name}), converted by python -m sarhub.hub convert"}
    return _publish(backbone_state(model, keep_classifier), fields, out_dir, manifest), report


def _entry_contract(e: Mapping[str, Any]) -> InputContract:
    """An entry's input contract; without one, the paper's 1-channel 128 px input and nothing else is known."""
    return InputContract.from_dict(e["input"], f"entry {e.get('name')}") if e.get("input") else \
        InputContract(in_chans=1, img_size=128)


def register_file(name: str, file: str | Path, manifest: str | Path | None = None,
                  weights_dir: str | Path | None = None) -> dict:
    """Trust `file` as entry `name`: it must load completely into the entry's architecture; it is copied into the
    weights folder under the entry's file name and its sha256 recorded."""
    e = entry(name)
    if e is None:
        raise DataError(None, f"no Model-Hub entry {name!r} (export or convert creates new ones)")
    file = Path(file)
    if file.suffix != ".safetensors":
        raise DataError(file, f"not a safetensors file; convert the authors' checkpoint instead: python -m sarhub.hub "
                              f"convert --source {file} --arch {e['architecture']} --name {name}")
    try:
        arch = resolve_name(e["architecture"])
    except ValueError:  # a timm ViT encoder of the MIM pre-training: that it reads is all that is checked
        read_state_dict(file)
    else:
        contract = _entry_contract(e)
        load_weights(create_model(arch, in_chans=contract.in_chans, img_size=contract.img_size), file, arch=arch)
    target = Path(weights_dir or default_weights_dir()) / check_name(e["file"])
    if not target.exists() or not target.samefile(file):
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file, target)
    new = {**e, "sha256": sha256(target), "size": target.stat().st_size}
    register(new, manifest)
    return {**new, "path": str(target)}


def _scalar(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m sarhub.hub", description="SAR-HUB Model-Hub")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="print the weights table (Markdown)")
    s = sub.add_parser("show", help="one entry (or .safetensors file) and the input contract of its network")
    s.add_argument("name")
    c = sub.add_parser("convert", help="convert one of the authors' released checkpoints and register it")
    c.add_argument("--source", required=True, help="the authors' .pth (flat, 'module.' prefix or {'model': ...})")
    c.add_argument("--name", required=True, help="Model-Hub name, e.g. senet50-tsx")
    c.add_argument("--arch", default=None, help="backbone (default: recognised from the checkpoint's keys)")
    e = sub.add_parser("export", help="export a training checkpoint as backbone safetensors + manifest entry")
    e.add_argument("--checkpoint", required=True)
    e.add_argument("--name", required=True, help="e.g. resnet50-tsx")
    e.add_argument("--score", type=float, default=None, help="its test score on the pre-training set")
    e.add_argument("--metric", default="top1 (%)")
    e.add_argument("--pretraining", default=None, help="pre-training set shown in the table (default: the run's dataset)")
    e.add_argument("--amplitude-scale", type=_scalar, default=None,
                   help="how raw amplitude became the 0–1 input: a divisor (e.g. 65535) or a description")
    r = sub.add_parser("register", help="trust a .safetensors file as an existing entry (copies it, records sha256)")
    r.add_argument("--name", required=True)
    r.add_argument("--file", required=True)
    for s_ in (c, e, r):
        s_.add_argument("--out-dir", "--weights-dir", dest="out_dir", default=None,
                        help=f"folder for the file (default: $SARHUB_WEIGHTS or {user_dir() / 'weights'})")
        s_.add_argument("--manifest", default=None,
                        help="manifest to write (default: the user's, $SARHUB_MANIFEST or "
                             f"{user_dir() / 'manifest.json'}; sarhub/hub_manifest.json publishes with the package)")
    for s_ in (c, e):
        s_.add_argument("--keep-classifier", action="store_true")
    args = p.parse_args(argv)
    try:
        if args.command == "list":
            print(markdown_table())
        elif args.command == "show":
            print(show(args.name))
        elif args.command == "convert":
            new, _ = convert_authors(args.source, args.name, args.arch, args.out_dir, args.manifest,
                                     args.keep_classifier)  # the load report went to stderr
            print(f"wrote {new['path']} (sha256 {new['sha256']}) and registered {new['name']}")
        elif args.command == "export":
            new = export_checkpoint(args.checkpoint, args.name, args.out_dir, args.score, args.metric, args.manifest,
                                    args.keep_classifier, args.amplitude_scale, args.pretraining)
            print(f"exported {new['name']}: {new['path']} sha256 {new['sha256']}")
        else:
            new = register_file(args.name, args.file, args.manifest, args.out_dir)
            print(f"registered {new['name']}: {new['path']} sha256 {new['sha256']}")
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None




if __name__ == "__main__":
    main()
