"""The paper's eight backbones by name, built with timm for single-channel SAR input, with safe weight loading.

`create_model` returns a classifier (or, with `features_only=True`, a `FeatureBackbone` giving the four stage maps
as NCHW tensors for detection/segmentation heads). Weights come from a local `.safetensors`/`.pth` file, one of our
training checkpoints, the authors' released checkpoints (renamed on the fly, `sarhub.authors_checkpoints`) or a
Model-Hub name. A load is all or nothing: any backbone tensor missing, unexpected or of another shape is an error
naming the file, unless the caller passes `allow_partial=True` (the classic `strict=False` bug, where a model trains
on from random weights without anyone noticing, cannot happen silently).
"""
from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import timm
import torch
from torch import nn

from sarhub import hub
from sarhub.authors_checkpoints import AUTHORS_NAMES, authors_layout, to_timm_names
from sarhub.config import option
from sarhub.errors import ConfigError, WeightsError

log = logging.getLogger(__name__)


def _authors_senet_stem(model: nn.Module) -> None:
    """The authors' SENet-50 pools its stem 3×3, stride 2, padding 1 (timm's legacy SE-ResNet: ceil mode, no pad)."""
    model.pool0 = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)


class SqueezeExciteThenAct(nn.Module):
    """timm's SqueezeExcite followed by the block activation: in the authors' MobileNetV3-small (d-li14) the SE
    module sits between the depthwise conv's BatchNorm and its activation, where timm puts it after both. Same
    parameter names as timm's SE, so timm-named checkpoints load unchanged."""

    def __init__(self, se: nn.Module, act: nn.Module):
        super().__init__()
        self.conv_reduce, self.act1, self.conv_expand, self.gate = se.conv_reduce, se.act1, se.conv_expand, se.gate
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.conv_expand(self.act1(self.conv_reduce(x.mean((2, 3), keepdim=True))))
        return self.act(x * self.gate(scale))


def _authors_mobilenetv3_se(model: nn.Module) -> None:
    """Move the activation of every expanded block with SE behind the SE module, as the authors' network has it."""
    from timm.models._efficientnet_blocks import InvertedResidual

    for block in model.modules():
        if isinstance(block, InvertedResidual) and not isinstance(block.se, nn.Identity):
            block.se = SqueezeExciteThenAct(block.se, block.bn2.act)
            block.bn2.act = nn.Identity()


@dataclass(frozen=True)
class BackboneSpec:
    """How one backbone maps onto timm."""

    timm_name: str
    family: str  # "cnn" or "swin" (sets the optimiser recipe: Swin uses 10x smaller learning rates)
    stage_offset: int  # timm feature index of the first of the four stages (CNNs also expose the stride-2 stem)
    timm_kwargs: dict[str, Any] = field(default_factory=dict)
    adjust: Callable[[nn.Module], None] | None = None  # where no timm setting reproduces the authors' network


# The authors built Swin for 128 px input with window 4 (feature grids 32/16/8/4 are all divisible by 4).
_SWIN = {"window_size": 4}
BACKBONES: dict[str, BackboneSpec] = {
    "resnet18": BackboneSpec("resnet18", "cnn", 1),
    "resnet50": BackboneSpec("resnet50", "cnn", 1),
    "resnet101": BackboneSpec("resnet101", "cnn", 1),
    "densenet121": BackboneSpec("densenet121", "cnn", 1),
    # The authors' SE-ResNet-50: timm's legacy SE-ResNet (SE from 1x1 convs with bias, stride in conv1) with their
    # padded stem pooling; timm's own variant stays available as legacy_seresnet50.
    "senet50": BackboneSpec("legacy_seresnet50", "cnn", 1, adjust=_authors_senet_stem),
    "legacy_seresnet50": BackboneSpec("legacy_seresnet50", "cnn", 1),
    # The authors' MobileNetV3-small (last conv 576 channels, SE before the activation); timm's variant stays
    # available as mobilenetv3_small_100, and the large one is offered too.
    "mobilenetv3": BackboneSpec("mobilenetv3_small_100", "cnn", 1, adjust=_authors_mobilenetv3_se),
    "mobilenetv3_small_100": BackboneSpec("mobilenetv3_small_100", "cnn", 1),
    "mobilenetv3_large": BackboneSpec("mobilenetv3_large_100", "cnn", 1),
    "swin_t": BackboneSpec("swin_tiny_patch4_window7_224", "swin", 0, _SWIN),
    "swin_b": BackboneSpec("swin_base_patch4_window7_224", "swin", 0, _SWIN),
}
PAPER_BACKBONES = ("resnet18", "resnet50", "resnet101", "senet50", "mobilenetv3", "densenet121", "swin_t", "swin_b")
_ALIASES = {
    "resnet-18": "resnet18", "resnet-50": "resnet50", "resnet-101": "resnet101", "densenet-121": "densenet121",
    "senet-50": "senet50", "seresnet50": "senet50", "se-resnet50": "senet50",
    "mobilenetv3_small": "mobilenetv3", "mobilenet_v3": "mobilenetv3", "mobilenetv3-small": "mobilenetv3",
    "mobilenetv3-large": "mobilenetv3_large", "swin-t": "swin_t", "swin_tiny": "swin_t", "swin-b": "swin_b",
    "swint": "swin_t", "swin_base": "swin_b", "swinb": "swin_b",
}


TIMM_PREFIX = "timm:"  # weights "timm:resnet18.a1_in1k" (downloaded) or "timm:resnet18.a1_in1k:/path/file"


def resolve_name(name: str) -> str:
    """Normalise a backbone name ("ResNet-50", "swin-t", ...) to a key of BACKBONES, or raise with the choices."""
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
    return key


def backbone_family(name: str) -> str:
    return BACKBONES[resolve_name(name)].family


@dataclass
class WeightsOptions:
    """Where a network's starting weights come from (every run that builds one)."""

    weights: str | None = option(None, "initial weights: scratch, imagenet, a .safetensors/.pth file (the authors' "
                                       "layouts too), a Model-Hub name, or timm:TAG[:FILE] (a timm pretrained tag, "
                                       "downloaded or read from FILE)")
    weights_dir: str | None = option(None, "folder of Model-Hub weight files", resumable=True)
    allow_partial: bool = option(False, "load the weights tensors that fit even if backbone tensors are missing, "
                                        "unexpected or of another shape (otherwise that is an error)")


@dataclass
class ModelOptions(WeightsOptions):
    """The backbone and its starting weights: the options of every run that fine-tunes one of the paper's."""

    name: str = option("resnet18", f"backbone: {', '.join(BACKBONES)}", flag="model")

    def __post_init__(self) -> None:
        try:
            self.name = resolve_name(self.name)
        except ValueError as exc:
            raise ConfigError("model", str(exc)) from None

    def create(self, **kwargs: Any) -> nn.Module:
        """`create_model` of these options (`kwargs`: num_classes, in_chans, img_size, features_only, timm's)."""
        return create_model(self.name, weights=self.weights, weights_dir=self.weights_dir,
                            allow_partial=self.allow_partial, **kwargs)


class FeatureBackbone(nn.Module):
    """A timm model reduced to its stages: forward returns a list of NCHW maps (Swin's NHWC is converted).

    The wrapped model keeps timm's parameter names, so classifier checkpoints load into it unchanged; the tensors
    pruning removed (the head) are remembered, so a load into it does not count them as unexpected.
    """

    def __init__(self, model: nn.Module, stage_indices: Sequence[int], stage_offset: int):
        super().__init__()
        self.stage_indices = tuple(int(i) for i in stage_indices)
        self._timm_indices = [i + stage_offset for i in self.stage_indices]
        info = model.feature_info
        self.out_channels = [info[i]["num_chs"] for i in self._timm_indices]
        self.reductions = [info[i]["reduction"] for i in self._timm_indices]
        before = set(model.state_dict())
        model.prune_intermediate_layers(self._timm_indices, prune_head=True, prune_norm=False)
        self.pruned_keys = frozenset(before - set(model.state_dict()))
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
    allow_partial: bool = False,
    **timm_kwargs: Any,
) -> nn.Module:
    """Build a backbone for `in_chans`-channel SAR input and optionally load weights.

    weights: None/"scratch" (random init), "imagenet" (timm's download, needs internet), "timm:TAG[:FILE]" (a timm
    pretrained tag, downloaded or read from a local FILE by timm itself), a file path
    (.safetensors, or .pth/.pt/.bin read with weights_only=True; the authors' checkpoints are recognised and
    renamed), or a Model-Hub name such as "senet50-tsx". Weights from a Model-Hub name (or a sarhub safetensors
    export) attach their input contract as `model.input_contract` (`.preprocess()` builds the matching batch
    preprocessing). allow_partial: load what matches instead of failing when backbone tensors are missing,
    unexpected or of another shape (the classifier may always differ).
    features_only: return a FeatureBackbone over stages `out_indices` (0..3 = strides 4..32 for CNNs, 4..32 for Swin
    at patch size 4). Extra keyword arguments go to timm (e.g. output_stride=8, drop_path_rate=0.1).
    """
    key = resolve_name(name)
    spec = BACKBONES[key]
    kwargs = {**spec.timm_kwargs, **timm_kwargs}
    if spec.family == "swin":
        kwargs.setdefault("img_size", img_size)
        kwargs.setdefault("strict_img_size", False)
    timm_name, pretrained, overlay = spec.timm_name, False, None
    if isinstance(weights, str) and weights.lower() == "imagenet":
        pretrained = True
    elif isinstance(weights, str) and weights.startswith(TIMM_PREFIX):
        tag, _, file = weights[len(TIMM_PREFIX):].partition(":")
        if tag.split(".")[0] != spec.timm_name:
            raise ConfigError("weights", f"timm tag {tag!r} is not a {spec.timm_name} (the network of {key})")
        timm_name, pretrained, overlay = tag, True, ({"file": file} if file else None)
        if file and not Path(file).is_file():
            raise WeightsError(file, "weights file not found")
    try:
        model = timm.create_model(timm_name, pretrained=pretrained, in_chans=in_chans, num_classes=num_classes,
                                  pretrained_cfg_overlay=overlay, **kwargs)
    except Exception as exc:
        if pretrained:
            raise WeightsError(weights, f"could not get timm's pretrained weights for {timm_name} ({exc}); download "
                                        "them where there is internet, or give timm:TAG:FILE") from exc
        raise
    if spec.adjust is not None:
        spec.adjust(model)
    contract = None
    if weights is not None and not pretrained and str(weights).lower() != "scratch":
        _check_hub_architecture(key, weights)
        load_weights(model, weights, weights_dir=weights_dir, allow_partial=allow_partial, arch=key)
        contract = hub.input_contract(weights)
    if features_only:
        model = FeatureBackbone(model, out_indices, spec.stage_offset)
    if contract is not None:
        model.input_contract = contract
    return model


def create_backbone(name: str, **kwargs: Any) -> FeatureBackbone:
    """Shorthand for `create_model(name, features_only=True, ...)`, the form detection/segmentation heads use."""
    return create_model(name, features_only=True, **kwargs)


@dataclass
class LoadReport:
    """What a weight load did; `matched` counts tensors copied into the model, `gaps` the backbone tensors that
    were missing, unexpected or of another shape (empty unless the load was allowed to be partial)."""

    source: str
    layout: str | None  # the authors' network whose layout was renamed, if any
    matched: int
    total: int
    missing: list[str]
    unexpected: list[str]
    skipped: list[str]  # present in both but of another shape (e.g. a classifier for another class count)
    adapted: list[str]  # the input conv, re-summed to another channel count
    dropped: list[str]  # buffers of the authors' layout that the model recomputes (Swin's index and mask)
    gaps: list[str]

    def __str__(self) -> str:
        layout = f" (the authors' {AUTHORS_NAMES[self.layout]} layout, renamed)" if self.layout else ""
        text = (f"loaded {self.source}{layout}: {self.matched}/{self.total} tensors matched, "
                f"{len(self.missing)} missing, {len(self.unexpected)} unexpected, "
                f"{len(self.skipped)} skipped for shape, {len(self.adapted)} input conv(s) adapted")
        if self.dropped:
            text += f", {len(self.dropped)} recomputed buffers dropped"
        if self.gaps:
            text += f"; PARTIAL: {len(self.gaps)} backbone tensors not loaded ({', '.join(self.gaps[:5])})"
        return text


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read tensors from a .safetensors file or a pickle loaded with weights_only=True (never executes code).

    Our training checkpoints ({"model": ...}) and the common wrappers ("state_dict", "model", DataParallel's
    "module." prefix) are unwrapped.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(path, "weights file not found")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            state = load_file(str(path))
        except Exception as exc:
            raise WeightsError(path, f"not a valid safetensors file ({exc})") from exc
    else:
        try:
            with warnings.catch_warnings():  # torch warns about foreign pickles before refusing them
                warnings.simplefilter("ignore")
                state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise WeightsError(path, "refused: not a plain tensor checkpoint (loading it would need to execute "
                                  f"pickled code, or it is corrupt): {str(exc).splitlines()[0]}") from exc
    for wrapper in ("model", "state_dict", "model_state", "net"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(path, "does not hold a state dict of tensors")
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def _is_file_source(weights: str | Path) -> bool:
    return Path(weights).suffix in (".safetensors", ".pth", ".pt", ".bin") or Path(weights).exists()


def _check_hub_architecture(key: str, weights: str | Path) -> None:
    """A Model-Hub name must describe the architecture being built (resnet50-tsx cannot go into a Swin)."""
    if _is_file_source(weights):
        return
    e = hub.entry(str(weights))
    if e is not None and resolve_name(e["architecture"]) != key:
        raise WeightsError(None, f"Model-Hub weights {weights!r} are for {e['architecture']}, not {key}")


def _resolve_source(source: str | Path, weights_dir: str | Path | None) -> Path:
    if _is_file_source(source):
        return Path(source)
    # a Model-Hub name such as "resnet50-tsx"
    return hub.resolve(str(source), weights_dir=weights_dir)


def load_weights(
    model: nn.Module,
    source: str | Path | dict[str, torch.Tensor],
    weights_dir: str | Path | None = None,
    allow_partial: bool = False,
    arch: str | None = None,
) -> LoadReport:
    """Copy a checkpoint into `model` by name, all or nothing, and report (stderr, WARNING) what happened.

    The authors' layouts are renamed first; the input conv is summed over input channels (3 → 1: exact for the
    grey image copied to three channels, as the authors trained) or spread over them (1 → N). The classifier may
    be absent, extra or of another shape; any other tensor missing, unexpected or of another shape raises
    WeightsError naming the file and the first keys, unless `allow_partial`. `arch` (our backbone name, as
    create_model passes it) refuses an authors' checkpoint of another network.
    """
    if isinstance(source, dict):
        state, label = source, "state dict"
    else:
        path = _resolve_source(source, weights_dir)
        state, label = read_state_dict(path), str(path)
    target = model.model if isinstance(model, FeatureBackbone) else model
    layout = authors_layout(state)
    if arch is not None and layout is not None and layout != arch and not allow_partial:
        raise WeightsError(label, _wrong_network(layout, arch, label))
    dropped: list[str] = []
    if layout is not None:
        state, dropped = to_timm_names(state, layout)
    own = target.state_dict()
    first_conv = next((k for k, v in own.items() if v.ndim == 4), None)
    matched: dict[str, torch.Tensor] = {}
    skipped, adapted = [], []
    for key, value in state.items():
        if key not in own:
            continue
        if value.shape == own[key].shape:
            matched[key] = value
        elif key == first_conv and (conv := _adapt_input_conv(value, own[key].shape)) is not None:
            matched[key] = conv
            adapted.append(key)
        else:
            skipped.append(key)
    missing = [k for k in own if k not in matched and k not in skipped and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in own]
    head = classifier_prefix(target)
    tolerated = getattr(model, "pruned_keys", frozenset())
    gaps = [k for k in missing + unexpected + skipped
            if not (head and k.startswith(head)) and k not in tolerated and not k.endswith("num_batches_tracked")]
    report = LoadReport(label, layout if layout in RENAMED_LAYOUTS else None, len(matched), len(own), missing,
                        unexpected, skipped, adapted, dropped, gaps)
    if gaps and not allow_partial:
        raise WeightsError(label, _gaps_message(report, state, own))
    target.load_state_dict(matched, strict=False)
    log.log(logging.WARNING if report.gaps or report.skipped else logging.INFO, "%s", report)
    return report


# layouts whose key names differ from timm's (the others are torchvision's names, which timm shares)
RENAMED_LAYOUTS = ("senet50", "mobilenetv3", "swin_t", "swin_b")


def _adapt_input_conv(value: torch.Tensor, shape: torch.Size) -> torch.Tensor | None:
    """Sum an input conv over its input channels (N → 1) or spread it over N copies (1 → N): both exact when the
    channels are copies of one grey image. Other channel changes have no exact counterpart (None)."""
    if value.ndim != 4 or value.shape[0] != shape[0] or value.shape[2:] != shape[2:]:
        return None
    if shape[1] == 1:
        return value.float().sum(dim=1, keepdim=True).to(value.dtype)
    if value.shape[1] == 1:
        return (value.float().repeat(1, shape[1], 1, 1) / shape[1]).to(value.dtype)
    return None


def _gaps_message(report: LoadReport, state: dict[str, torch.Tensor], own: dict[str, torch.Tensor]) -> str:
    missing = [k for k in report.gaps if k in report.missing]
    unexpected = [k for k in report.gaps if k in report.unexpected]
    skipped = [f"{k} {tuple(state[k].shape)} vs model {tuple(own[k].shape)}" for k in report.gaps
               if k in report.skipped]
    parts = [f"{len(keys)} {what} ({', '.join(keys[:3])}{', ...' if len(keys) > 3 else ''})"
             for what, keys in (("missing", missing), ("unexpected", unexpected), ("of another shape", skipped))
             if keys]
    return (f"does not fit this model: backbone tensors {'; '.join(parts)}. Nothing was loaded; wrong architecture "
            "or layout? Pass allow_partial=True (--allow-partial) to load only what matches")


def _wrong_network(layout: str, arch: str, label: str) -> str:
    name = Path(label).stem.lower()
    pretraining = next((p for p in ("tsx", "ben", "osu") if p in name), "tsx")
    what = f"the authors' {AUTHORS_NAMES[layout]}" if layout in RENAMED_LAYOUTS else f"a {layout}"
    return (f"holds {what} network, not {arch}: build it as {layout} "
            f"(create_model(\"{layout}\", weights=...) or --model {layout}), or convert it once: "
            f"python -m sarhub.hub convert --source {label} --arch {layout} --name {layout}-{pretraining}")


def classifier_prefix(model: nn.Module) -> str | None:
    """Name prefix of the classifier module, whose tensors may legitimately differ between tasks."""
    get = getattr(model, "get_classifier", None)
    if get is None:
        return None
    classifier = get()
    for name, module in model.named_modules():
        if module is classifier and name:
            return name + "."
    return None
