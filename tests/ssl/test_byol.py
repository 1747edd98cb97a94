"""BYOL: the target moves only by EMA (never by gradients), its momentum schedule, a finite symmetric loss, and an
online encoder whose weights load by name into a classifier, a feature backbone and FCOS."""
import math

import pytest
import torch
from safetensors.torch import save_file

import sarhub
from sarhub.models.detection import build_fcos
from sarhub.ssl.byol import BYOL, ema_momentum, regression_loss


@pytest.fixture(scope="module")
def byol():
    torch.manual_seed(0)
    return BYOL(hidden_dim=32, proj_dim=16)


def test_momentum_rises_from_base_to_one_on_a_cosine():
    assert ema_momentum(0, 100, 0.99) == pytest.approx(0.99)
    assert ema_momentum(50, 100, 0.99) == pytest.approx(0.995)
    assert ema_momentum(100, 100, 0.99) == ema_momentum(200, 100, 0.99) == pytest.approx(1.0)


def test_regression_loss_is_two_minus_two_cosine():
    a = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    assert float(regression_loss(a, a)) == pytest.approx(0.0)
    assert float(regression_loss(a, -a)) == pytest.approx(4.0)
    assert float(regression_loss(a, a.flip(1))) == pytest.approx(2.0)


def test_gradients_reach_the_online_networks_only_and_the_target_follows_by_ema(byol):
    loss = byol(torch.randn(4, 1, 32, 32), torch.randn(4, 1, 32, 32))
    assert 0 <= float(loss.detach()) <= 8 and math.isfinite(float(loss.detach()))
    loss.backward()
    target_before = {k: v.clone() for k, v in byol.target_encoder.state_dict().items()}
    assert all(p.grad is None for p in byol.target_encoder.parameters())
    assert byol.predictor[0].weight.grad is not None and byol.encoder.conv1.weight.grad is not None
    with torch.no_grad():
        byol.encoder.conv1.weight.add_(1.0)
    byol.update_target(1.0)
    torch.testing.assert_close(byol.target_encoder.state_dict(), target_before)
    byol.update_target(0.75)
    expected = 0.75 * target_before["conv1.weight"] + 0.25 * byol.encoder.conv1.weight
    torch.testing.assert_close(byol.target_encoder.conv1.weight, expected)
    byol.update_target(0.0)
    torch.testing.assert_close(byol.target_encoder.state_dict(), byol.encoder.state_dict())


def test_online_encoder_loads_by_name_into_classifier_backbone_and_fcos(byol, tmp_path):
    path = tmp_path / "backbone.safetensors"
    save_file({k: v.contiguous() for k, v in byol.encoder.state_dict().items()}, str(path))
    classifier = sarhub.create_model("resnet18", weights=str(path), num_classes=10)
    torch.testing.assert_close(classifier.layer4[1].conv2.weight, byol.encoder.layer4[1].conv2.weight)
    features = sarhub.create_backbone("resnet18", weights=str(path))
    assert [f.shape[1] for f in features(torch.randn(1, 1, 64, 64))] == [64, 128, 256, 512]
    fcos = build_fcos("resnet18", num_classes=1, weights=str(path), min_size=64, max_size=64)
    assert fcos is not None
