"""Convert the authors' released pre-trained checkpoints (`<Name>_TSX.pth`, ...) to SAR-HUB backbones.

    python weights/convert.py --source ResNet50_TSX.pth --arch resnet50 --name resnet50-tsx [--out-dir weights/files]

The authors trained on the grey image copied to three channels, so the first convolution's weights are summed over
its input channels: the 1-channel model is then exactly equivalent (tested). Per source layout:
- ResNet-18/50/101, DenseNet-121: torchvision key names, which timm shares (old DenseNet `norm.1` keys are renamed);
- Swin-T/B: Microsoft's implementation at 128 px, window 4 -> timm's `checkpoint_filter_fn` (moves the patch-merging
  layers to the next stage, renames the head, drops the index/mask buffers);
- SENet-50 (their own SE-ResNet) and MobileNetV3-small (the d-li14 implementation): parameters are paired with timm's
  `legacy_seresnet50` / `mobilenetv3_small_100` in registration order, every pair's shape checked; any mismatch fails.
Wrappers (`model`, `state_dict`) and DataParallel's `module.` prefix are removed. The converted file is written as
safetensors and registered in the manifest with its sha256; a conversion matching < 90 % of the tensors fails.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sarhub import hub  # noqa: E402
from sarhub.backbones import create_model, load_weights, read_state_dict, resolve_name  # noqa: E402
from sarhub.errors import DataError  # noqa: E402

_OLD_DENSENET = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$")
ORDER_MATCHED = ("senet50", "mobilenetv3")


def _classes(state: dict[str, torch.Tensor]) -> int:
    """Number of classes of the source classifier: rows of the last 2-D weight matrix."""
    matrices = [v for v in state.values() if v.ndim == 2 and v.is_floating_point()]
    if not matrices:
        raise DataError(None, "source checkpoint has no classifier matrix")
    return int(matrices[-1].shape[0])


def match_by_order(state: dict[str, torch.Tensor], model: torch.nn.Module, source: str) -> dict[str, torch.Tensor]:
    """Pair source and target tensors in registration order (BN counters skipped), checking every shape."""
    src = [(k, v) for k, v in state.items() if not k.endswith("num_batches_tracked")]
    dst = [(k, v) for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")]
    if len(src) != len(dst):
        raise DataError(source, f"has {len(src)} tensors, {type(model).__name__} expects {len(dst)}")
    out = {}
    for i, ((ks, vs), (kd, vd)) in enumerate(zip(src, dst)):
        same = vs.shape == vd.shape or (i == 0 and vs.ndim == 4 and vs.shape[0] == vd.shape[0]
                                        and vs.shape[2:] == vd.shape[2:])
        if not same:
            raise DataError(source, f"tensor {i} {ks} {tuple(vs.shape)} does not fit {kd} {tuple(vd.shape)}")
        out[kd] = vs
    return out


def convert(source: str | Path, arch: str) -> tuple[torch.nn.Module, object]:
    """Load an authors' checkpoint into our 1-channel model; returns (model, load report)."""
    arch = resolve_name(arch)
    state = read_state_dict(source)
    num_classes = _classes(state)
    model = create_model(arch, num_classes=num_classes, in_chans=1, img_size=128)
    if arch == "densenet121":
        state = {(_OLD_DENSENET.sub(r"\1\2", k)): v for k, v in state.items()}
    elif arch in ("swin_t", "swin_b"):
        from timm.models.swin_transformer import checkpoint_filter_fn

        state = {k: v for k, v in state.items() if not k.endswith(("relative_position_index", "attn_mask"))}
        state = checkpoint_filter_fn(state, model)
    elif arch in ORDER_MATCHED:
        state = match_by_order(state, model, str(source))
    report = load_weights(model, state, min_match=0.9)  # fails below 90 % of the backbone tensors

    return model, report


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--source", required=True, help="the authors' .pth checkpoint")
    p.add_argument("--arch", required=True, help="resnet18, resnet50, resnet101, senet50, mobilenetv3, densenet121, "
                                                 "swin_t, swin_b")
    p.add_argument("--name", required=True, help="Model-Hub name, e.g. resnet50-tsx")
    p.add_argument("--out-dir", default=str(hub.REPO / "weights" / "files"))
    p.add_argument("--manifest", default=None)
    p.add_argument("--keep-classifier", action="store_true")
    args = p.parse_args(argv)
    try:
        model, report = convert(args.source, args.arch)
        print(report)
        if report.missing or report.unexpected:
            print(f"  missing: {report.missing[:10]}\n  unexpected: {report.unexpected[:10]}")
        old = hub.entry(args.name, args.manifest) or {}
        file = f"{args.name}.safetensors"
        meta = {"architecture": resolve_name(args.arch), "in_chans": 1, "img_size": 128,
                "pretraining": old.get("pretraining", "unknown"), "num_classes": _classes(model.state_dict())}
        digest = hub.save_backbone(hub.backbone_state(model, args.keep_classifier), Path(args.out_dir) / file, meta)
        hub.register({**old, "name": args.name, **meta, "file": file, "sha256": digest,
                      "size": (Path(args.out_dir) / file).stat().st_size,
                      "source": f"authors' release ({Path(args.source).name}), converted by weights/convert.py"},
                     args.manifest)
        print(f"wrote {Path(args.out_dir) / file} (sha256 {digest}) and its manifest entry")
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
