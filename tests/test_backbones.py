"""The eight paper backbones: single-channel 128 px input, stage features, and weight loading that reports what it
matched and fails loudly when it matched too little."""
import pickle

import pytest
import torch
import torchvision
from safetensors.torch import save_file

from sarhub.backbones import PAPER_BACKBONES, FeatureBackbone, create_backbone, create_model, load_weights, resolve_name
from sarhub.errors import DataError


@pytest.mark.parametrize("name", PAPER_BACKBONES)
def test_every_backbone_classifies_and_gives_four_stages(name):
    x = torch.randn(2, 1, 128, 128)
    model = create_model(name, num_classes=5).eval()
    assert model(x).shape == (2, 5)
    feats = create_backbone(name).eval()(x)
    assert [f.shape[-1] for f in feats] == [32, 16, 8, 4]  # strides 4..32, NCHW (Swin converted from NHWC)
    assert all(f.shape[0] == 2 for f in feats)


def test_swin_is_built_for_128px_with_window_4():
    model = create_model("swin_t")
    assert model.layers[0].blocks[0].attn.window_size == (4, 4)
    assert model.patch_embed.img_size == (128, 128)


def test_names_resolve_and_unknown_is_clear():
    assert resolve_name("ResNet-50") == "resnet50" and resolve_name("Swin-T") == "swin_t"
    with pytest.raises(ValueError, match="unknown backbone"):
        resolve_name("vgg16")


def test_three_channel_weights_are_summed_to_one_channel_exactly(tmp_path):
    """The authors trained on the grey image copied to 3 channels: summing conv1 over channels is exact."""
    src = torchvision.models.resnet18(num_classes=32).eval()
    torch.save({"model": {f"module.{k}": v for k, v in src.state_dict().items()}}, tmp_path / "ResNet18_TSX.pth")
    ours = create_model("resnet18", num_classes=32, weights=str(tmp_path / "ResNet18_TSX.pth")).eval()
    x = torch.rand(2, 1, 64, 64)
    assert torch.allclose(ours(x), src(x.repeat(1, 3, 1, 1)), atol=1e-4)


def test_features_only_loads_classifier_checkpoint_and_skips_other_head(tmp_path):
    clf = create_model("resnet18", num_classes=7)
    save_file(clf.state_dict(), str(tmp_path / "w.safetensors"))
    feats = create_backbone("resnet18", weights=str(tmp_path / "w.safetensors"))
    assert isinstance(feats, FeatureBackbone)
    assert torch.equal(feats.model.conv1.weight, clf.conv1.weight)
    other = create_model("resnet18", num_classes=3)
    report = load_weights(other, str(tmp_path / "w.safetensors"))
    assert sorted(report.skipped) == ["fc.bias", "fc.weight"] and report.matched == report.total - 2


def test_mismatched_architecture_fails_loudly(tmp_path):
    save_file(create_model("densenet121").state_dict(), str(tmp_path / "dense.safetensors"))
    with pytest.raises(DataError, match="backbone tensors match"):
        create_model("resnet50", weights=str(tmp_path / "dense.safetensors"))


class _Exploit:
    def __reduce__(self):
        return (print, ("pickle code ran",))


def test_pickled_code_is_refused(tmp_path):
    path = tmp_path / "evil.pth"
    with open(path, "wb") as f:
        pickle.dump({"model": _Exploit()}, f)
    with pytest.raises(DataError, match="refused"):
        create_model("resnet18", weights=str(path))
