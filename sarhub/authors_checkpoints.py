"""The SAR-HUB authors' released checkpoints: recognise which of their eight networks a state dict holds, and rename
its tensors to our timm model's keys by name (never by registration order, which differs: their SENet-50 registers
each block's shortcut before its SE module).

Their layouts (XAI4SAR/SAR-HUB, Pre-training/models): ResNet-18/50/101 and DenseNet-121 use torchvision's names,
which timm shares; SENet-50 is their own `senet` class (conv1..conv5 Sequentials, `shortcut`, `se`); MobileNetV3 is
the d-li14 MobileNetV3-small (`features.i.conv.j`, SE and classifier built from nn.Linear); Swin-T/B are Microsoft's
implementation (patch merging at the end of a stage, `head`, persistent index/mask buffers). Tensor values are never
changed, except nn.Linear weights reshaped to the 1×1 convolutions timm uses in their place.
"""
from __future__ import annotations

import re
from typing import Mapping

import torch

# their network names (as in state_dict_keys.json and their --model flag) for our backbones
AUTHORS_NAMES = {"resnet18": "ResNet18", "resnet50": "ResNet50", "resnet101": "ResNet101",
                 "densenet121": "DenseNet121", "senet50": "SENet50", "mobilenetv3": "MobileV3",
                 "swin_t": "Swin-T", "swin_b": "Swin-B"}
_RESNET_LAYER3_BLOCKS = {(False, 2): "resnet18", (True, 6): "resnet50", (True, 23): "resnet101"}
_SWIN_EMBED = {96: "swin_t", 128: "swin_b"}
# buffers Microsoft's Swin saves and timm recomputes (non-persistent there)
SWIN_BUFFERS = ("relative_position_index", "attn_mask")

_SENET_BLOCK = re.compile(r"^conv([2-5])\.(\d+)\.(conv[123]\.[01]|shortcut\.[01]|se\.[13])\.(\w+)$")
_SENET_PARTS = {"conv1.0": "conv1", "conv1.1": "bn1", "conv2.0": "conv2", "conv2.1": "bn2", "conv3.0": "conv3",
                "conv3.1": "bn3", "shortcut.0": "downsample.0", "shortcut.1": "downsample.1",
                "se.1": "se_module.fc1", "se.3": "se_module.fc2"}
_SENET_OTHER = {"conv1.0": "layer0.conv1", "conv1.1": "layer0.bn1", "fc": "last_linear"}

# timm's mobilenetv3_small_100 blocks, in the order of the authors' features.1..11 and their final 1×1 conv
_MNV3_BLOCKS = ("blocks.0.0", "blocks.1.0", "blocks.1.1", "blocks.2.0", "blocks.2.1", "blocks.2.2", "blocks.3.0",
                "blocks.3.1", "blocks.4.0", "blocks.4.1", "blocks.4.2", "blocks.5.0")
_MNV3_BLOCK = re.compile(r"^features\.(\d+)\.conv\.(\d(?:\.fc\.[02])?)\.(\w+)$")
# features.1 has no expansion (depthwise first); the others are expand → depthwise → SE → project
_MNV3_DEPTHWISE_FIRST = {"0": "conv_dw", "1": "bn1", "3.fc.0": "se.conv_reduce", "3.fc.2": "se.conv_expand",
                         "4": "conv_pw", "5": "bn2"}
_MNV3_INVERTED = {"0": "conv_pw", "1": "bn1", "3": "conv_dw", "4": "bn2", "5.fc.0": "se.conv_reduce",
                  "5.fc.2": "se.conv_expand", "7": "conv_pwl", "8": "bn3"}
_MNV3_OTHER = {"features.0.0": "conv_stem", "features.0.1": "bn1", "conv.0": "blocks.5.0.conv",
               "conv.1": "blocks.5.0.bn1", "classifier.0": "conv_head", "classifier.3": "classifier"}
_LINEAR_AS_CONV = ("se.conv_reduce.weight", "se.conv_expand.weight", "conv_head.weight")
_OLD_DENSENET = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))\.([12])\.(\w+)$")


def authors_layout(state: Mapping[str, torch.Tensor]) -> str | None:
    """The paper backbone whose authors' layout `state` is in (ResNet/DenseNet: torchvision names, shared by timm),
    from its key names; None for anything else (e.g. our own timm-named SENet, MobileNetV3 and Swin files)."""
    keys = set(state)
    if "layers.0.downsample.reduction.weight" in keys and "patch_embed.proj.weight" in keys:
        return _SWIN_EMBED.get(state["patch_embed.proj.weight"].shape[0])
    if "conv2.0.se.1.weight" in keys:
        return "senet50"
    if "features.1.conv.0.weight" in keys:
        return "mobilenetv3"
    if any(k.startswith("features.denseblock1.") for k in keys):
        return "densenet121"
    if "layer1.0.conv1.weight" in keys:
        blocks = {k.split(".")[1] for k in keys if k.startswith("layer3.")}
        return _RESNET_LAYER3_BLOCKS.get(("layer1.0.conv3.weight" in keys, len(blocks)))
    return None


def to_timm_names(state: Mapping[str, torch.Tensor], arch: str) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Rename an authors' state dict of backbone `arch` to timm's keys; returns (tensors, dropped buffer keys).

    A key no rule knows keeps its name, so the strict load that follows reports it instead of losing it.
    """
    if arch in ("swin_t", "swin_b"):
        return _swin(state)
    rename = {"senet50": _senet_key, "mobilenetv3": lambda k: _mobilenetv3_key(k, state),
              "densenet121": lambda k: _OLD_DENSENET.sub(r"\1\2.\3", k)}.get(arch, lambda k: k)
    out = {}
    for key, value in state.items():
        new = rename(key)
        if new.endswith(_LINEAR_AS_CONV) and value.ndim == 2:
            value = value[:, :, None, None]
        out[new] = value
    return out, []


def _senet_key(key: str) -> str:
    m = _SENET_BLOCK.match(key)
    if m:
        return f"layer{int(m[1]) - 1}.{m[2]}.{_SENET_PARTS[m[3]]}.{m[4]}"
    module, _, leaf = key.rpartition(".")
    return f"{_SENET_OTHER[module]}.{leaf}" if module in _SENET_OTHER else key


def _mobilenetv3_key(key: str, state: Mapping[str, torch.Tensor]) -> str:
    m = _MNV3_BLOCK.match(key)
    if m and 1 <= int(m[1]) < len(_MNV3_BLOCKS):
        parts = _MNV3_INVERTED if f"features.{m[1]}.conv.7.weight" in state else _MNV3_DEPTHWISE_FIRST
        if m[2] in parts:
            return f"{_MNV3_BLOCKS[int(m[1]) - 1]}.{parts[m[2]]}.{m[3]}"
        return key
    module, _, leaf = key.rpartition(".")
    return f"{_MNV3_OTHER[module]}.{leaf}" if module in _MNV3_OTHER else key


def _swin(state: Mapping[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Microsoft's Swin → timm's: patch merging moves to the start of the next stage, `head` becomes `head.fc`."""
    out, dropped = {}, []
    for key, value in state.items():
        if key.rsplit(".", 1)[-1] in SWIN_BUFFERS:
            dropped.append(key)
            continue
        key = re.sub(r"^layers\.(\d+)\.downsample\.", lambda m: f"layers.{int(m[1]) + 1}.downsample.", key)
        out[re.sub(r"^head\.", "head.fc.", key)] = value
    return out, dropped
