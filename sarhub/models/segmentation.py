"""DeepLabV3 over the paper's backbones (Table 8), with torchvision's heads so the decoder is the reference one.

The ASPP head (`DeepLabHead`, atrous rates 12/24/36 — torchvision's defaults, passed explicitly) reads the last stage;
an auxiliary `FCNHead` reads stage 3 during training (its loss is weighted by AUX_WEIGHT = 0.4 by the caller, as in
MMSegmentation's DeepLabV3 config). The ResNets are dilated to output stride 8 (timm `output_stride=8`: strides of
stages 3–4 replaced by dilation 2/4, as torchvision's and MMSeg's DeepLabV3); SE-ResNet-50, DenseNet-121 and Swin
have no dilated variant in timm and run at output stride 32. Logits are upsampled bilinearly to the input size, in
float32 (under bf16 autocast only the networks run in bf16).

An atrous rate at least as large as the feature map makes the off-centre taps of that 3×3 convolution read only
zero padding: `AtrousConv2d` then convolves with the centre taps alone, which gives the same output and the same
gradients (the skipped taps get zero gradient either way) at a ninth of the cost. At output stride 16 on a 256 px
input (a 16×16 map) rates 24 and 36 become 1×1 convolutions; the weights and the state dict are unchanged.
"""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.segmentation.deeplabv3 import DeepLabHead
from torchvision.models.segmentation.fcn import FCNHead

from sarhub.backbones import FeatureBackbone, create_backbone, resolve_name
from sarhub.data.coco_masks import letterbox_image, letterbox_size
from sarhub.preprocess import standardise_per_image

AUX_WEIGHT = 0.4
ASPP_RATES = (12, 24, 36)
SEGMENTATION_BACKBONES = ("resnet18", "resnet50", "resnet101", "senet50", "densenet121", "swin_t", "swin_b")
DILATED = ("resnet18", "resnet50", "resnet101")


class AtrousConv2d(nn.Conv2d):
    """A 3×3 convolution with padding = dilation that skips the kernel rows (columns) which can only read zero
    padding: those whose dilation is at least the input's height (width). Module docstring."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows, cols = self.dilation[0] >= x.shape[-2], self.dilation[1] >= x.shape[-1]
        if not (rows or cols):
            return super().forward(x)
        weight = self.weight[:, :, 1:2] if rows else self.weight
        weight = weight[:, :, :, 1:2] if cols else weight
        padding = (0 if rows else self.padding[0], 0 if cols else self.padding[1])
        return F.conv2d(x, weight, self.bias, self.stride, padding, self.dilation, self.groups)


class DeepLabV3(nn.Module):
    """Backbone stages 3 and 4 -> {"out": N×K×H×W logits at input size, "aux": same, training mode only}."""

    def __init__(self, backbone: FeatureBackbone, num_classes: int, aux: bool = True, per_image_norm: bool = False):
        super().__init__()
        self.backbone = backbone
        self.per_image_norm = per_image_norm
        self.classifier = DeepLabHead(backbone.out_channels[-1], num_classes, atrous_rates=ASPP_RATES)
        for branch in self.classifier[0].convs[1:1 + len(ASPP_RATES)]:  # ASPPConv: conv 3×3, BN, ReLU
            branch[0].__class__ = AtrousConv2d  # same parameters, initialised as torchvision does
        self.aux_classifier = FCNHead(backbone.out_channels[0], num_classes) if aux else None
        self.output_stride = backbone.reductions[-1]

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        size = x.shape[-2:]
        stage3, stage4 = self.backbone(standardise_per_image(x) if self.per_image_norm else x)
        out = OrderedDict(out=F.interpolate(self.classifier(stage4).float(), size=size, mode="bilinear",
                                            align_corners=False))
        if self.aux_classifier is not None and self.training:
            out["aux"] = F.interpolate(self.aux_classifier(stage3).float(), size=size, mode="bilinear",
                                       align_corners=False)
        return out

    def extra_repr(self) -> str:
        return (f"output_stride={self.output_stride}, aspp_rates={ASPP_RATES}, aux={self.aux_classifier is not None}, "
                f"per_image_norm={self.per_image_norm}")


def build_deeplabv3(backbone_name: str, num_classes: int = 2, weights: str | Path | None = None, aux: bool = True,
                    in_chans: int = 1, img_size: int = 512, output_stride: int = 8, per_image_norm: bool = False,
                    **backbone_kwargs: Any) -> DeepLabV3:
    """DeepLabV3 on a paper backbone; `weights` (hub name, file, "imagenet") initialise the backbone only.

    img_size only matters for Swin (its attention masks adapt to any input size); output_stride (8 or 16) only for
    the dilated ResNets; per_image_norm standardises each input image (letterbox padding included) before the
    backbone; extra keyword arguments go to create_backbone (weights_dir, allow_partial) and timm.
    """
    key = resolve_name(backbone_name)
    if key in DILATED:
        backbone_kwargs["output_stride"] = output_stride
    backbone = create_backbone(key, in_chans=in_chans, weights=weights, img_size=img_size, out_indices=(2, 3),
                               **backbone_kwargs)
    return DeepLabV3(backbone, num_classes, aux, per_image_norm)


@torch.no_grad()
def predict_logits(model: nn.Module, images: Sequence[torch.Tensor], input_size: int | None = None
                   ) -> list[torch.Tensor]:
    """K×H×W logits of each C×H×W image at its own size, so scores are taken against the full-resolution truth.

    input_size: letterbox every image to long side `input_size` (zero-padded square, the training input), cut the
    padding off the logits and resize them back bilinearly; None feeds images as they are (one batch when they
    share a shape, else one by one).
    """
    model.eval()
    device = next(model.parameters()).device
    if input_size is None:
        if len({tuple(im.shape) for im in images}) == 1:
            return list(model(torch.stack(list(images)).to(device))["out"])
        return [model(im[None].to(device))["out"][0] for im in images]
    logits = model(torch.stack([letterbox_image(im, input_size) for im in images]).to(device))["out"]
    out = []
    for image, logit in zip(images, logits):
        height, width = image.shape[-2:]
        h, w = letterbox_size(height, width, input_size)
        out.append(F.interpolate(logit[None, :, :h, :w], size=(height, width), mode="bilinear",
                                 align_corners=False)[0])
    return out
