"""CAM maps (GradCAM++, LayerCAM, Guided GradCAM++) and stage feature maps of CNN and Swin classifiers."""
import numpy as np
import pytest
import torch

from sarhub import create_model
from sarhub.explain.cam import cam_maps, guided_is_plain_gradient, stage_feature_maps


@pytest.mark.parametrize("arch", ["resnet18", "swin_t"])
def test_cam_maps_have_input_size_and_are_finite(arch):
    model = create_model(arch, num_classes=3, img_size=64)
    maps = cam_maps(model, arch, torch.rand(2, 1, 64, 64))
    for name, m in maps.items():
        assert m.shape == (2, 64, 64) and np.isfinite(m).all(), name
    assert guided_is_plain_gradient(arch) == (arch == "swin_t")
    assert [s.shape[-1] for s in stage_feature_maps(model, arch, torch.rand(1, 1, 64, 64))] == [16, 8, 4, 2]
