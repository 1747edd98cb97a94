"""The Model-Hub commands that build networks: export one of our training checkpoints, convert the authors'
release, register a trusted file, and the `python -m sarhub.hub` command line (see `sarhub.hub`)."""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from sarhub.authors_checkpoints import authors_layout
from sarhub.backbones import BACKBONES, classifier_prefix, create_model, load_weights, read_state_dict, resolve_name
from sarhub.checkpoints import atomic_write, load_checkpoint, write_text_atomic
from sarhub.cli import parse_command, run_main
from sarhub.config import option
from sarhub.errors import ConfigError, WeightsError
from sarhub.hub import (
    PACKAGED_MANIFEST,
    InputContract,
    check_name,
    default_weights_dir,
    entry,
    markdown_table,
    read_manifest,
    register,
    save_backbone,
    sha256,
    show,
    user_manifest_path,
)
from sarhub.preprocess import InputOptions
from sarhub.ssl.mae import ENCODERS, GradientMAE


def backbone_state(model: nn.Module, keep_classifier: bool = False) -> dict[str, torch.Tensor]:
    """The model's tensors without its classifier (what downstream tasks load)."""
    state = model.state_dict()
    prefix = None if keep_classifier else classifier_prefix(model)
    return {k: v.contiguous() for k, v in state.items() if not (prefix and k.startswith(prefix))}


def _publish(tensors: dict[str, torch.Tensor], fields: dict[str, Any], out_dir: str | Path | None,
             manifest: str | Path | None, replace: bool = False) -> dict:
    """Write `<name>.safetensors` inside `out_dir` and register its entry with sha256 and size. A name that exists
    (in the manifest written or the packaged one) is refused unless `replace`: nothing is overwritten unasked."""
    name = check_name(fields["name"])
    taken = name in read_manifest(PACKAGED_MANIFEST) or name in read_manifest(manifest or user_manifest_path())
    if taken and not replace:
        raise ConfigError("name", f"Model-Hub entry {name!r} exists already; choose another name, or replace it "
                                  "(--replace)")
    path = Path(out_dir or default_weights_dir()) / f"{name}.safetensors"
    fields = {**fields, "file": path.name}
    digest = save_backbone(tensors, path, {k: v for k, v in fields.items() if k not in ("sha256", "size")})
    new = {**fields, "sha256": digest, "size": path.stat().st_size}
    register(new, manifest)
    return {**new, "path": str(path)}


def export_checkpoint(checkpoint: str | Path, name: str, out_dir: str | Path | None = None,
                      score: float | None = None, metric: str = "top1 (%)", manifest: str | Path | None = None,
                      keep_classifier: bool = False, amplitude_scale: float | str | None = None,
                      pretraining: str | None = None, replace: bool = False, half: bool = False,
                      hf: str | Path | None = None) -> dict:
    """Turn one of our training checkpoints into a backbone-only safetensors file plus its manifest entry, the
    input contract filled from the run's saved arguments.

    A classification run exports its backbone (classifier removed unless `keep_classifier`); a
    self_supervised/pretrain_mim.py run exports its ViT encoder (no MAE decoder) as a 1-channel timm ViT; a
    joint-embedding run (self_supervised/pretrain_ssl.py) its ResNet backbone. `half` stores float16 tensors;
    `hf` also writes the timm / Hugging Face Hub folder of the same weights.
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
    if half:
        tensors = {k: v.half() if v.is_floating_point() else v for k, v in tensors.items()}
    new = _publish(tensors, fields, out_dir, manifest, replace)
    if hf is not None:
        write_timm_folder(hf, tensors, new, keep_classifier)
    return new


def timm_config(e: Mapping[str, Any], with_classifier: bool = False) -> dict[str, Any]:
    """An entry as timm's Hugging Face `config.json`: architecture, class count, input channels, the standard
    `pretrained_cfg` fields and, under "sarhub_input", the whole input contract (DRAE, per-image standardisation)
    that timm's own data config cannot express (`sarhub.hub.InputContract.from_dict` reads it back)."""
    contract = _entry_contract(e)
    arch = e["architecture"]
    timm_name = BACKBONES[resolve_name(arch)].timm_name if arch in BACKBONES or _known(arch) else arch
    num_classes = int(e.get("num_classes") or 0) if with_classifier else 0
    return {"architecture": timm_name, "num_classes": num_classes, "model_args": {"in_chans": contract.in_chans},
            "pretrained_cfg": contract.pretrained_cfg(num_classes), "sarhub_input": contract.as_dict()}


def _known(arch: str) -> bool:
    try:
        resolve_name(arch)
        return True
    except ValueError:
        return False


def write_timm_folder(folder: str | Path, tensors: dict[str, torch.Tensor], e: Mapping[str, Any],
                      with_classifier: bool = False) -> None:
    """`config.json` + `model.safetensors`: `timm.create_model("local-dir:FOLDER", pretrained=True)` builds the
    network sarhub.create_model builds from the entry (the same folder uploaded loads with "hf-hub:")."""
    from safetensors.torch import save

    folder = Path(folder)
    atomic_write(folder / "model.safetensors", save({k: v.contiguous() for k, v in tensors.items()}))
    write_text_atomic(folder / "config.json", json.dumps(timm_config(e, with_classifier), indent=1) + "\n")


def _classifier_backbone(state: dict, checkpoint: str | Path, keep_classifier: bool,
                         amplitude_scale: float | str | None):
    args = state.get("args") or {}
    if "model" not in args or "num_classes" not in args:
        raise WeightsError(checkpoint, "has no training arguments (model, num_classes): not a sarhub checkpoint")
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
    contract = InputContract(in_chans=1, options=InputOptions(img_size=args["img_size"]),
                             amplitude_scale=amplitude_scale)
    meta = {"architecture": ENCODERS.get(args["encoder"], args["encoder"]), "patch_size": args["patch_size"],
            "pretraining": f"gradient-feature MIM, {args.get('pool_tiles', '?')} unlabelled tiles", "num_classes": 0,
            "input": contract.as_dict()}
    return {k: v.contiguous() for k, v in model.encoder.state_dict().items()}, meta, "MIM (encoder only)"


def convert_authors(source: str | Path, name: str, arch: str | None = None, out_dir: str | Path | None = None,
                    manifest: str | Path | None = None, keep_classifier: bool = False,
                    replace: bool = False) -> tuple[dict, Any]:
    """The authors' released checkpoint → a verified 1-channel safetensors backbone registered under `name`.

    Every tensor is renamed by name and must find its place (an incomplete match fails); the entry keeps the
    manifest's input contract and score. Returns (entry, load report).
    """
    check_name(name)
    state = read_state_dict(source)
    arch = resolve_name(arch) if arch else authors_layout(state)
    if arch is None:
        raise WeightsError(source, "is in none of the authors' eight layouts; name the architecture (arch, --arch)")
    matrices = [v for v in state.values() if v.ndim == 2 and v.is_floating_point()]
    if not matrices:
        raise WeightsError(source, "has no classifier matrix: not one of the authors' classification checkpoints")
    known = entry(name) or {}
    contract = _entry_contract(known)
    model = create_model(arch, num_classes=int(matrices[-1].shape[0]), in_chans=contract.in_chans,
                         img_size=contract.img_size)
    report = load_weights(model, source, arch=arch)
    fields = {**known, "name": name, "architecture": arch, "pretraining": known.get("pretraining", "unknown"),
              "num_classes": int(matrices[-1].shape[0]), "input": contract.as_dict(),
              "source": f"authors' release ({Path(source).name}), converted by python -m sarhub.hub convert"}
    known_name = name in read_manifest(PACKAGED_MANIFEST) and not known.get("sha256")
    return _publish(backbone_state(model, keep_classifier), fields, out_dir, manifest,
                    replace or known_name), report  # filling a packaged entry's sha256 is what convert is for


def _entry_contract(e: Mapping[str, Any]) -> InputContract:
    """An entry's input contract; without one, the paper's 1-channel 128 px input and nothing else is known."""
    return InputContract.from_dict(e["input"], f"entry {e.get('name')}") if e.get("input") else \
        InputContract(in_chans=1, options=InputOptions())


def register_file(name: str, file: str | Path, manifest: str | Path | None = None,
                  weights_dir: str | Path | None = None) -> dict:
    """Trust `file` as entry `name`: it must load completely into the entry's architecture; it is copied into the
    weights folder under the entry's file name and its sha256 recorded."""
    e = entry(name)
    if e is None:
        raise WeightsError(None, f"no Model-Hub entry {name!r} (export or convert creates new ones)")
    file = Path(file)
    if file.suffix != ".safetensors":
        raise WeightsError(file, f"not a safetensors file; convert the authors' checkpoint instead: python -m sarhub.hub "
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


@dataclass
class ListCommand:
    """print the weights table (Markdown)"""


@dataclass
class ShowCommand:
    """one entry (or .safetensors file), the input contract of its network and its timm pretrained_cfg"""

    name: str | None = option(None, "a Model-Hub name or a .safetensors file", required=True, positional=True)


@dataclass
class PublishOptions:
    """Where a new weights file and its manifest entry go."""

    out_dir: str | None = option(None, "folder for the file (default: $SARHUB_WEIGHTS or ~/.cache/sarhub/weights)")
    manifest: str | None = option(None, "manifest to write (default: the user's, $SARHUB_MANIFEST or "
                                        "~/.cache/sarhub/manifest.json; sarhub/hub_manifest.json ships with the "
                                        "package)")
    replace: bool = option(False, "replace an entry of the same name (else refused), a packaged one included")


@dataclass
class ConvertCommand(PublishOptions):
    """convert one of the authors' released checkpoints and register it"""

    source: str | None = option(None, "the authors' .pth (flat, 'module.' prefix or {'model': ...})", required=True)
    name: str | None = option(None, "Model-Hub name, e.g. senet50-tsx", required=True)
    arch: str | None = option(None, "backbone (default: recognised from the checkpoint's keys)")
    keep_classifier: bool = option(False, "keep the classifier tensors")


@dataclass
class ExportCommand(PublishOptions):
    """export a training checkpoint as backbone safetensors + manifest entry (and a timm/Hugging Face folder)"""

    checkpoint: str | None = option(None, "a checkpoint of a classification or MIM pre-training run", required=True)
    name: str | None = option(None, "Model-Hub name, e.g. resnet18-tsxslc", required=True)
    score: float | None = option(None, "its score (e.g. the transfer benchmark's, or top-1 on its own test set)")
    metric: str = option("top1 (%)", "what the score is")
    pretraining: str | None = option(None, "pre-training set shown in the table (default: the run's dataset)")
    amplitude_scale: str | None = option(None, "how raw amplitude became the 0–1 input: a divisor (e.g. 65535) or "
                                               "a description")
    keep_classifier: bool = option(False, "keep the classifier tensors")
    half: bool = option(False, "store the tensors in float16 (half the file; loads into float32 models)")
    hf: str | None = option(None, "also write the folder timm reads from the Hugging Face Hub (config.json + "
                                  "model.safetensors): timm.create_model('local-dir:DIR', pretrained=True)")


@dataclass
class RegisterCommand(PublishOptions):
    """trust a .safetensors file as an existing entry (copies it, records its sha256)"""

    name: str | None = option(None, "the entry", required=True)
    file: str | None = option(None, "the .safetensors file", required=True)


COMMANDS = {"list": ListCommand, "show": ShowCommand, "convert": ConvertCommand, "export": ExportCommand,
            "register": RegisterCommand}


def _scalar(text: str | None) -> float | str | None:
    try:
        return None if text is None else float(text)
    except ValueError:
        return text


def main(argv: list[str] | None = None) -> None:
    command, cfg = parse_command(COMMANDS, argv, "SAR-HUB Model-Hub", "python -m sarhub.hub")
    if command == "list":
        print(markdown_table())
    elif command == "show":
        print(show(cfg.name))
    elif command == "convert":
        new, _ = convert_authors(cfg.source, cfg.name, cfg.arch, cfg.out_dir, cfg.manifest, cfg.keep_classifier,
                                 cfg.replace)  # the load report was logged
        print(f"wrote {new['path']} (sha256 {new['sha256']}) and registered {new['name']}")
    elif command == "export":
        new = export_checkpoint(cfg.checkpoint, cfg.name, cfg.out_dir, cfg.score, cfg.metric, cfg.manifest,
                                cfg.keep_classifier, _scalar(cfg.amplitude_scale), cfg.pretraining, cfg.replace,
                                cfg.half, cfg.hf)
        print(f"exported {new['name']}: {new['path']} sha256 {new['sha256']}"
              + (f"; timm folder {cfg.hf}" if cfg.hf else ""))
    else:
        new = register_file(cfg.name, cfg.file, cfg.manifest, cfg.out_dir)
        print(f"registered {new['name']}: {new['path']} sha256 {new['sha256']}")


if __name__ == "__main__":
    run_main(main)
