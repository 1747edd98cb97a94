"""CAM explanations of SAR classifiers (paper Figure 7) with pytorch-grad-cam: GradCAM++, LayerCAM and Guided
GradCAM++, plus the channel-mean feature maps of the four stages (Figure 7a).

Target layers per backbone: the last block of the last stage (ResNets, SENet), DenseNet's final norm, MobileNetV3's
last inverted-residual block (its head conv runs after pooling), Swin's last block (NHWC tokens reshaped to NCHW).
Guided backpropagation only modifies ReLUs: for GELU networks (Swin) "Guided GradCAM++" is plain input-gradient ×
GradCAM++, reported by `guided_is_plain_gradient`.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from sarhub.backbones import BACKBONES, resolve_name

METHODS = ("GradCAM++", "LayerCAM", "Guided GradCAM++")


def target_layer(model: nn.Module, arch: str) -> tuple[nn.Module, object]:
    """(layer, reshape_transform) for pytorch-grad-cam."""
    arch = resolve_name(arch)
    if arch.startswith("swin"):
        return model.layers[-1].blocks[-1], lambda t: t.permute(0, 3, 1, 2)
    if arch == "densenet121":
        return model.features.norm5, None
    if arch.startswith("mobilenetv3"):
        return model.blocks[-1], None
    return model.layer4[-1], None


def guided_is_plain_gradient(arch: str) -> bool:
    return BACKBONES[resolve_name(arch)].family == "swin"


def cam_maps(model: nn.Module, arch: str, images: torch.Tensor, targets: list[int] | None = None) -> dict[str, np.ndarray]:
    """Maps (B×H×W in [0, 1]) of the three methods for `targets` (default: the predicted classes)."""
    from pytorch_grad_cam import GradCAMPlusPlus, GuidedBackpropReLUModel, LayerCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    model.eval()
    layer, reshape = target_layer(model, arch)
    if targets is None:
        with torch.no_grad():
            targets = model(images).argmax(dim=1).tolist()
    cls_targets = [ClassifierOutputTarget(t) for t in targets]
    out = {}
    with GradCAMPlusPlus(model, [layer], reshape_transform=reshape) as cam:
        out["GradCAM++"] = cam(images, cls_targets)
    with LayerCAM(model, [layer], reshape_transform=reshape) as cam:
        out["LayerCAM"] = cam(images, cls_targets)
    guided = GuidedBackpropReLUModel(model, device=images.device)
    grads = []
    for i, t in enumerate(targets):
        g = np.abs(guided(images[i:i + 1].clone(), target_category=t)).sum(axis=-1)
        grads.append(g / max(g.max(), 1e-12))
    out["Guided GradCAM++"] = np.stack(grads) * out["GradCAM++"]
    out["Guided GradCAM++"] /= np.maximum(out["Guided GradCAM++"].reshape(len(targets), -1).max(1), 1e-12)[:, None, None]
    return out


@torch.no_grad()
def stage_feature_maps(model: nn.Module, arch: str, images: torch.Tensor) -> list[np.ndarray]:
    """Channel-mean maps of the four stages (B×h×w each, min–max normalised per image) for Figure 7a."""
    spec = BACKBONES[resolve_name(arch)]
    indices = [spec.stage_offset + i for i in range(4)]
    feats = model.forward_intermediates(images, indices=indices, intermediates_only=True)
    maps = []
    for f in feats:
        m = f.mean(dim=1)
        lo = m.flatten(1).min(1).values[:, None, None]
        hi = m.flatten(1).max(1).values[:, None, None]
        maps.append(((m - lo) / (hi - lo).clamp_min(1e-12)).cpu().numpy())
    return maps
