"""The paper's eight backbones by name, built with timm for single-channel SAR input, with safe weight loading.

`create_model` returns a classifier (or, with `features_only=True`, a `FeatureBackbone` giving the four stage maps
as NCHW tensors for detection/segmentation heads). Weights come from a local `.safetensors`/`.pth` file, one of our
training checkpoints, or a Model-Hub name, and a load that matches too few keys fails loudly instead of silently
leaving a randomly initialised network (the classic `strict=False` bug).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import timm
import torch
from torch import nn

from sarhub.errors import DataError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BackboneSpec:
    """How one paper backbone maps onto timm."""

    timm_name: str
    family: str  # "cnn" or "swin" (sets the optimiser recipe: Swin uses 10x smaller learning rates)
    stage_offset: int  # timm feature index of the first of the four stages (CNNs also expose the stride-2 stem)
    timm_kwargs: dict[str, Any] = field(default_factory=dict)


# The authors built Swin for 128 px input with window 4 (feature grids 32/16/8/4 are all divisible by 4).
_SWIN = {"window_size": 4}
BACKBONES: dict[str, BackboneSpec] = {
    "resnet18": BackboneSpec("resnet18", "cnn", 1),
    "resnet50": BackboneSpec("resnet50", "cnn", 1),
    "resnet101": BackboneSpec("resnet101", "cnn", 1),
    "densenet121": BackboneSpec("densenet121", "cnn", 1),
    # timm's legacy SE-ResNet-50 has the authors' structure (SE from 1x1 convs with bias, stride in conv1).
    "senet50": BackboneSpec("legacy_seresnet50", "cnn", 1),
    # The authors' code builds the small variant (last conv 576 channels); the large one is offered too.
    "mobilenetv3": BackboneSpec("mobilenetv3_small_100", "cnn", 1),
    "mobilenetv3_large": BackboneSpec("mobilenetv3_large_100", "cnn", 1),
    "swin_t": BackboneSpec("swin_tiny_patch4_window7_224", "swin", 0, _SWIN),
    "swin_b": BackboneSpec("swin_base_patch4_window7_224", "swin", 0, _SWIN),
}
PAPER_BACKBONES = ("resnet18", "resnet50", "resnet101", "senet50", "mobilenetv3", "densenet121", "swin_t", "swin_b")
_ALIASES = {
    "resnet-18": "resnet18", "resnet-50": "resnet50", "resnet-101": "resnet101", "densenet-121": "densenet121",
    "senet-50": "senet50", "seresnet50": "senet50", "se-resnet50": "senet50", "legacy_seresnet50": "senet50",
    "mobilenetv3_small": "mobilenetv3", "mobilenet_v3": "mobilenetv3", "mobilenetv3-small": "mobilenetv3",
    "mobilenetv3-large": "mobilenetv3_large", "swin-t": "swin_t", "swin_tiny": "swin_t", "swint": "swin_t",
    "swin-b": "swin_b", "swin_base": "swin_b", "swinb": "swin_b",
}


def resolve_name(name: str) -> str:
    """Normalise a backbone name ("ResNet-50", "swin-t", ...) to a key of BACKBONES, or raise with the choices."""
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
    return key


def backbone_family(name: str) -> str:
    return BACKBONES[resolve_name(name)].family


class FeatureBackbone(nn.Module):
    """A timm model reduced to its stages: forward returns a list of NCHW maps (Swin's NHWC is converted).

    The wrapped model keeps timm's parameter names, so classifier checkpoints load into it unchanged.
    """

    def __init__(self, model: nn.Module, stage_indices: Sequence[int], stage_offset: int):
        super().__init__()
        self.stage_indices = tuple(int(i) for i in stage_indices)
        self._timm_indices = [i + stage_offset for i in self.stage_indices]
        info = model.feature_info
        self.out_channels = [info[i]["num_chs"] for i in self._timm_indices]
        self.reductions = [info[i]["reduction"] for i in self._timm_indices]
        model.prune_intermediate_layers(self._timm_indices, prune_head=True, prune_norm=False)
        self.model = model

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return self.model.forward_intermediates(x, indices=self._timm_indices, intermediates_only=True)

    def extra_repr(self) -> str:
        return f"stages={self.stage_indices}, out_channels={self.out_channels}, reductions={self.reductions}"


def create_model(
    name: str,
    num_classes: int = 0,
    in_chans: int = 1,
    img_size: int = 128,
    weights: str | Path | None = None,
    features_only: bool = False,
    out_indices: Sequence[int] = (0, 1, 2, 3),
    weights_dir: str | Path | None = None,
    min_match: float = 0.5,
    **timm_kwargs: Any,
) -> nn.Module:
    """Build a paper backbone for `in_chans`-channel SAR input and optionally load weights.

    weights: None/"scratch" (random init), "imagenet" (timm's download, needs internet), a file path
    (.safetensors, or .pth/.pt/.bin read with weights_only=True), or a Model-Hub name such as "resnet50-tsx".
    features_only: return a FeatureBackbone over stages `out_indices` (0..3 = strides 4..32 for CNNs, 4..32 for Swin
    at patch size 4). Extra keyword arguments go to timm (e.g. output_stride=8, drop_path_rate=0.1).
    """
    key = resolve_name(name)
    spec = BACKBONES[key]
    kwargs = {**spec.timm_kwargs, **timm_kwargs}
    if spec.family == "swin":
        kwargs.setdefault("img_size", img_size)
        kwargs.setdefault("strict_img_size", False)
    pretrained = isinstance(weights, str) and weights.lower() == "imagenet"
    try:
        model = timm.create_model(
            spec.timm_name, pretrained=pretrained, in_chans=in_chans, num_classes=num_classes, **kwargs
        )
    except Exception as exc:
        if pretrained:
            raise DataError(None, f"could not fetch timm's ImageNet weights for {spec.timm_name} ({exc}); "
                                  "download them where there is internet and pass the file with --weights") from exc
        raise
    if weights is not None and not pretrained and str(weights).lower() != "scratch":
        _check_hub_architecture(key, weights)
        load_weights(model, weights, weights_dir=weights_dir, min_match=min_match)
    if features_only:
        return FeatureBackbone(model, out_indices, spec.stage_offset)
    return model


def create_backbone(name: str, **kwargs: Any) -> FeatureBackbone:
    """Shorthand for `create_model(name, features_only=True, ...)`, the form detection/segmentation heads use."""
    return create_model(name, features_only=True, **kwargs)


@dataclass
class LoadReport:
    """What a weight load did; `matched` counts tensors copied into the model."""

    source: str
    matched: int
    total: int
    missing: list[str]
    unexpected: list[str]
    skipped: list[str]  # present in both but of another shape (e.g. a classifier for another class count)
    adapted: list[str]  # input convs re-summed to another channel count

    def __str__(self) -> str:
        return (f"loaded {self.source}: {self.matched}/{self.total} tensors matched, {len(self.missing)} missing, "
                f"{len(self.unexpected)} unexpected, {len(self.skipped)} skipped for shape, "
                f"{len(self.adapted)} input conv(s) adapted")


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read tensors from a .safetensors file or a pickle loaded with weights_only=True (never executes code).

    Our training checkpoints ({"model": ...}) and the common wrappers ("state_dict", "model", DataParallel's
    "module." prefix) are unwrapped.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "weights file not found")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            state = load_file(str(path))
        except Exception as exc:
            raise DataError(path, f"not a valid safetensors file ({exc})") from exc
    else:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise DataError(path, "refused: not a plain tensor checkpoint (loading it would need to execute "
                                  f"pickled code, or it is corrupt): {str(exc).splitlines()[0]}") from exc
    for wrapper in ("model", "state_dict", "model_state", "net"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise DataError(path, "does not hold a state dict of tensors")
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def _check_hub_architecture(key: str, weights: str | Path) -> None:
    """A Model-Hub name must describe the architecture being built (resnet50-tsx cannot go into a Swin)."""
    if Path(weights).suffix in (".safetensors", ".pth", ".pt", ".bin") or Path(weights).exists():
        return
    from sarhub import hub

    e = hub.entry(str(weights))
    if e is not None and resolve_name(e["architecture"]) != key:
        raise DataError(None, f"Model-Hub weights {weights!r} are for {e['architecture']}, not {key}")


def _resolve_source(source: str | Path, weights_dir: str | Path | None) -> Path:
    path = Path(source)
    if path.suffix in (".safetensors", ".pth", ".pt", ".bin") or path.exists():
        return path
    from sarhub import hub  # a Model-Hub name such as "resnet50-tsx"

    return hub.resolve(str(source), weights_dir=weights_dir)


def load_weights(
    model: nn.Module,
    source: str | Path | dict[str, torch.Tensor],
    weights_dir: str | Path | None = None,
    min_match: float = 0.5,
) -> LoadReport:
    """Copy matching tensors into `model`, adapting the first conv's input channels, and report what happened.

    Raises DataError when fewer than `min_match` of the model's non-classifier tensors were matched.
    """
    if isinstance(source, dict):
        state, label = source, "state dict"
    else:
        path = _resolve_source(source, weights_dir)
        state, label = read_state_dict(path), str(path)
    if isinstance(model, FeatureBackbone):
        model = model.model
    own = model.state_dict()
    head = _classifier_prefix(model)
    matched: dict[str, torch.Tensor] = {}
    skipped, adapted = [], []
    for key, value in state.items():
        if key not in own:
            continue
        target = own[key]
        if value.shape == target.shape:
            matched[key] = value
        elif value.ndim == 4 and target.ndim == 4 and value.shape[0] == target.shape[0] and value.shape[2:] == target.shape[2:]:
            from timm.models._manipulate import adapt_input_conv  # sums 3->1 channels, repeats 1->3

            matched[key] = adapt_input_conv(target.shape[1], value.float(), base_chans=value.shape[1]).to(value.dtype)
            adapted.append(key)
        else:
            skipped.append(key)
    model.load_state_dict(matched, strict=False)
    # BatchNorm's num_batches_tracked counters are not weights (and old checkpoints predate them)
    body = [k for k in own if not (head and k.startswith(head)) and not k.endswith("num_batches_tracked")]
    n_body = sum(k in matched for k in body)
    report = LoadReport(
        source=label, matched=len(matched), total=len(own),
        missing=[k for k in own if k not in matched], unexpected=[k for k in state if k not in own],
        skipped=skipped, adapted=adapted,
    )
    if body and n_body < min_match * len(body):
        example = ", ".join(report.missing[:3])
        raise DataError(label, f"only {n_body}/{len(body)} backbone tensors match this model "
                               f"(missing e.g. {example}); wrong architecture or key layout? "
                               "Convert the authors' checkpoints with weights/convert.py")
    log.info("%s", report)
    return report


def _classifier_prefix(model: nn.Module) -> str | None:
    """Name prefix of the classifier module, whose tensors may legitimately differ between tasks."""
    get = getattr(model, "get_classifier", None)
    if get is None:
        return None
    classifier = get()
    for name, module in model.named_modules():
        if module is classifier and name:
            return name + "."
    return None
