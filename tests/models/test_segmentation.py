"""DeepLabV3 over every Table 8 backbone: builds, trains one step (finite loss, weights move), evaluates on CPU; the
atrous convolutions that skip padding taps give torchvision's outputs and gradients; float32 logits under bf16."""
from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.segmentation.deeplabv3 import DeepLabHead

from sarhub.models.segmentation import (
    ASPP_RATES,
    AUX_WEIGHT,
    SEGMENTATION_BACKBONES,
    AtrousConv2d,
    build_deeplabv3,
)


@pytest.mark.parametrize("name", SEGMENTATION_BACKBONES)
def test_every_backbone_trains_one_step_and_evaluates(name):
    # 64 px: at output stride 32 the last stage is 2×2 (a 1×1 map with batch 2 makes BatchNorm explode)
    model = build_deeplabv3(name, num_classes=2, img_size=64)
    expected_stride = 8 if name.startswith("resnet") else 32
    assert model.output_stride == expected_stride and f"output_stride={expected_stride}" in repr(model)
    x = torch.rand(2, 1, 64, 64)
    target = torch.randint(0, 2, (2, 64, 64))
    target[:, :4] = 255
    optimiser = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    head_before = model.classifier[-1].weight.detach().clone()
    out = model(x)
    assert set(out) == {"out", "aux"} and out["out"].shape == out["aux"].shape == (2, 2, 64, 64)
    loss = F.cross_entropy(out["out"], target, ignore_index=255) + AUX_WEIGHT * F.cross_entropy(
        out["aux"], target, ignore_index=255)
    assert torch.isfinite(loss)
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()
    assert not torch.equal(model.classifier[-1].weight, head_before)
    model.eval()
    with torch.no_grad():
        pred = model(torch.rand(1, 1, 72, 88))
    assert list(pred) == ["out"] and pred["out"].shape == (1, 2, 72, 88) and torch.isfinite(pred["out"]).all()


def test_heads_are_torchvision_deeplabv3_with_explicit_rates():
    model = build_deeplabv3("resnet18", aux=False)
    rates = [branch[0].dilation[0] for branch in model.classifier[0].convs[1:4]]
    assert tuple(rates) == ASPP_RATES == (12, 24, 36)
    assert model.aux_classifier is None and AUX_WEIGHT == 0.4
    assert model.backbone.reductions == [8, 8]  # stages 3 and 4 dilated
    assert model.classifier[0].convs[0][0].in_channels == 512


def test_sync_batchnorm_only_when_distributed_on_cuda():
    model = build_deeplabv3("resnet18", aux=False)
    assert not any(isinstance(m, torch.nn.SyncBatchNorm) for m in model.modules())


@pytest.mark.parametrize("hw", [(16, 16), (8, 40), (30, 30), (40, 12)])
def test_atrous_convs_skipping_padding_taps_give_the_same_outputs_and_gradients(hw):
    """Rates at least the map's height and/or width: the centre row/column alone; smaller: the full kernel."""
    torch.manual_seed(0)
    x = torch.randn(2, 8, *hw, dtype=torch.float64)
    for rate in ASPP_RATES:
        conv = nn.Conv2d(8, 4, 3, padding=rate, dilation=rate, bias=False).double()
        skipping = copy.deepcopy(conv)
        skipping.__class__ = AtrousConv2d
        xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
        ya, yb = conv(xa), skipping(xb)
        assert torch.allclose(ya, yb, rtol=0, atol=1e-12)
        (ya ** 2).sum().backward()
        (yb ** 2).sum().backward()
        assert torch.allclose(conv.weight.grad, skipping.weight.grad, rtol=0, atol=1e-10)
        assert torch.allclose(xa.grad, xb.grad, rtol=0, atol=1e-10)


def test_aspp_is_torchvisions_with_skipping_atrous_convs_and_float32_logits():
    model = build_deeplabv3("resnet18", img_size=64, output_stride=16)
    assert [type(branch[0]) for branch in model.classifier[0].convs[1:4]] == [AtrousConv2d] * 3
    reference = DeepLabHead(512, 2, atrous_rates=ASPP_RATES).state_dict()
    assert {k: v.shape for k, v in model.classifier.state_dict().items()} == {k: v.shape for k, v in reference.items()}
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(torch.rand(2, 1, 64, 64))
    assert out["out"].dtype == out["aux"].dtype == torch.float32
