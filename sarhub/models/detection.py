"""FCOS ship detectors over the paper's backbones (Table 7): torchvision's FCOS, head and losses unchanged, on a
SAR-HUB backbone (C3–C5) with an FPN P3–P7 arranged as MMDetection's FCOS does it.

MMDetection's FCOS builds P6 from C5 (`add_extra_convs='on_input'`) and P7 from ReLU(P6); torchvision's
`LastLevelP6P7` does exactly that when told not to use P5, which we force (it would otherwise switch to P5 whenever
C5 happens to have 256 channels). Anchor "sizes" equal the level strides 8..128, which makes torchvision's FCOS
assign boxes to levels with MMDetection's regress ranges (0, 64, 128, 256, 512, ∞). The test-time settings are
MMDetection's FCOS ones (score 0.05, NMS IoU 0.6, 1000 candidates per level, 100 detections per image).

Under bf16 autocast only the networks run in bf16: anchors, target assignment, the losses and the decoding of
detections stay in float32 (torchvision would make anchors and decoded boxes bf16, whose 8 significant bits round
coordinates to 2 px beyond 256 px and to 8 px beyond 1024 px).

Labels are torchvision FCOS's own: 0..K-1 in targets and detections, one sigmoid output per class as in MMDetection
(no background output, which would let an under-trained model emit background boxes); the datasets give labels in
this form. Input is the single-channel image in [0, 1], fed as is (mean 0, std 1) or standardised per image.
"""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn
from torchvision.models.detection import FCOS
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.transform import GeneralizedRCNNTransform
from torchvision.ops.feature_pyramid_network import FeaturePyramidNetwork, LastLevelP6P7

from sarhub.backbones import FeatureBackbone, create_backbone
from sarhub.optim import decays
from sarhub.preprocess import standardise_per_image

# The seven backbones of Table 7.
DETECTION_BACKBONES = ("resnet18", "resnet50", "resnet101", "senet50", "densenet121", "swin_t", "swin_b")

# Scale (min_size, max_size) of each Table-7 dataset: HRSID / LS-SSDD tiles at 800×800, SSDD at 800–1333.
DATASET_SCALES = {"hrsid": (800, 800), "ls-ssdd": (800, 800), "ssdd": (800, 1333)}

FPN_CHANNELS = 256
_STRIDES = (8, 16, 32, 64, 128)


class BackboneWithFPN(nn.Module):
    """Backbone stages C3–C5 → FPN P3–P5 + P6 (from C5) + P7, as the OrderedDict torchvision's FCOS expects."""

    def __init__(self, body: FeatureBackbone, out_channels: int = FPN_CHANNELS):
        super().__init__()
        self.body = body
        in_channels = list(body.out_channels)
        extra = LastLevelP6P7(in_channels[-1], out_channels)
        extra.use_P5 = False  # P6 from C5 (MMDetection's 'on_input') even when C5 has `out_channels` channels
        self.fpn = FeaturePyramidNetwork(in_channels, out_channels, extra_blocks=extra)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        features = self.body(x)
        return self.fpn(OrderedDict((str(i), f) for i, f in enumerate(features)))


class Float32Anchors(AnchorGenerator):
    """torchvision's anchor points, always in float32 (torchvision takes the feature maps' dtype: bf16 under
    autocast). Only the maps' shapes and device are read, so stride-0 float32 stand-ins replace them."""

    def forward(self, image_list, feature_maps: list[torch.Tensor]) -> list[torch.Tensor]:
        shapes = [torch.zeros((), device=f.device).expand(f.shape) for f in feature_maps]
        return super().forward(image_list, shapes)


class SarFCOS(FCOS):
    """torchvision's FCOS that rejects target labels outside 0..K-1 (torchvision would fail on a label K with an
    index error, a device-side assert on CUDA, and silently take a negative label for background), and that turns
    the head's outputs to float32 before target assignment, losses and box decoding (module docstring)."""

    def compute_loss(self, targets, head_outputs, anchors, num_anchors_per_level):
        num_classes = self.head.classification_head.num_classes
        for t in targets:
            if len(t["labels"]) and not (0 <= int(t["labels"].min()) and int(t["labels"].max()) < num_classes):
                raise ValueError(f"target labels must lie in 0..{num_classes - 1}, got {t['labels'].tolist()}")
        head_outputs = {k: v.float() for k, v in head_outputs.items()}
        return super().compute_loss(targets, head_outputs, anchors, num_anchors_per_level)

    def postprocess_detections(self, head_outputs, anchors, image_shapes):
        head_outputs = {k: [v.float() for v in levels] for k, levels in head_outputs.items()}
        return super().postprocess_detections(head_outputs, anchors, image_shapes)


class StandardisingTransform(GeneralizedRCNNTransform):
    """torchvision's detection transform with per-image standardisation (zero mean, unit variance per image) in
    place of a fixed mean/std, before resizing and padding: the SAR-HUB input contract for any storage format."""

    def normalize(self, image: torch.Tensor) -> torch.Tensor:
        return standardise_per_image(image)


def frozen_bn_by_default(weights: str | Path | None) -> bool:
    """BatchNorm is frozen when the backbone starts from weights (MMDetection's `norm_eval`: small detection batches
    would spoil pre-trained statistics) and trained when it starts from scratch."""
    return weights is not None and str(weights).lower() != "scratch"


def build_fcos(
    backbone_name: str,
    num_classes: int = 1,
    weights: str | Path | None = None,
    min_size: int = 800,
    max_size: int = 1333,
    img_size: int | None = None,
    freeze_bn: bool | None = None,
    score_thresh: float = 0.05,
    nms_thresh: float = 0.6,
    detections_per_img: int = 100,
    topk_candidates: int = 1000,
    weights_dir: str | Path | None = None,
    allow_partial: bool = False,
    per_image_norm: bool = False,
) -> SarFCOS:
    """torchvision FCOS on a SAR-HUB backbone for `num_classes` object classes (labels 0..num_classes-1).

    weights: the backbone's weights (Model-Hub name, file, "imagenet" or None for random init).
    min_size/max_size: the dataset's scale (DATASET_SCALES); images are resized to it and padded to a multiple of 32.
    img_size: the size Swin is built for (its position tables; any input size works); defaults to min_size.
    freeze_bn: keep BatchNorm statistics and affine parameters fixed (MMDetection's `norm_eval`, right for small
    detection batches on a pre-trained backbone); default: frozen when weights are loaded, trained from scratch.
    per_image_norm: standardise each image before the backbone (else the [0, 1] image as is).
    """
    body = create_backbone(backbone_name, in_chans=1, weights=weights, out_indices=(1, 2, 3),
                           img_size=img_size or min_size, weights_dir=weights_dir, allow_partial=allow_partial)
    if freeze_bn if freeze_bn is not None else frozen_bn_by_default(weights):
        from timm.layers import freeze_batch_norm_2d

        body.model = freeze_batch_norm_2d(body.model)
    anchor_generator = Float32Anchors(sizes=tuple((s,) for s in _STRIDES), aspect_ratios=((1.0,),) * len(_STRIDES))
    model = SarFCOS(
        BackboneWithFPN(body),
        num_classes=num_classes,
        min_size=min_size,
        max_size=max_size,
        image_mean=[0.0],
        image_std=[1.0],
        anchor_generator=anchor_generator,
        score_thresh=score_thresh,
        nms_thresh=nms_thresh,
        detections_per_img=detections_per_img,
        topk_candidates=topk_candidates,
    )
    if per_image_norm:
        model.transform = StandardisingTransform(min_size, max_size, [0.0], [1.0])
    return model


def param_groups(model: FCOS, lr: float, weight_decay: float, bias_lr_mult: float = 2.0,
                 backbone_lr_mult: float = 1.0) -> list[dict]:
    """Optimiser groups with MMDetection's FCOS recipe: biases at `bias_lr_mult`× lr without decay.

    Norm weights and Swin's position-bias tables get no decay either (MMDetection's Swin recipe; CNN BatchNorms are
    frozen in fine-tuning anyway). `backbone_lr_mult` scales every backbone group.
    """
    groups: dict[tuple[bool, str], list[nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        kind = "bias" if name.endswith(".bias") else ("decay" if decays(name, param) else "no_decay")
        groups.setdefault((name.startswith("backbone.body."), kind), []).append(param)
    out = []
    for (in_backbone, kind), params in groups.items():
        scale = (backbone_lr_mult if in_backbone else 1.0) * (bias_lr_mult if kind == "bias" else 1.0)
        out.append({"params": params, "lr": lr * scale, "weight_decay": weight_decay if kind == "decay" else 0.0})
    return out

