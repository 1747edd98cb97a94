"""The eight paper backbones: single-channel 128 px input, stage features, timm's own variants beside the authors',
and weight loading that is all or nothing (no silent partial load) and reports what it did on stderr."""
import logging
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torchvision
from safetensors.torch import save_file

from sarhub.backbones import PAPER_BACKBONES, FeatureBackbone, create_backbone, create_model, load_weights, resolve_name
from sarhub.errors import WeightsError

REPO = Path(__file__).resolve().parents[1]


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
    with pytest.raises(WeightsError, match="holds a densenet121 network, not resnet50"):
        create_model("resnet50", weights=str(tmp_path / "dense.safetensors"))
    save_file(create_model("mobilenetv3").state_dict(), str(tmp_path / "mnv3.safetensors"))
    with pytest.raises(WeightsError, match=r"dense\.safetensors: does not fit.*missing \(conv1\.weight, bn1\.weight"):
        load_weights(create_model("resnet50"), str(tmp_path / "dense.safetensors"))  # no architecture given


def test_timm_variants_stay_available_beside_the_authors():
    assert create_model("senet50").pool0.padding == 1 and not create_model("senet50").pool0.ceil_mode
    assert create_model("legacy_seresnet50").pool0.ceil_mode
    authors, timm_own = create_model("mobilenetv3"), create_model("mobilenetv3_small_100")
    assert list(authors.state_dict()) == list(timm_own.state_dict())  # same names, SE moved before the activation
    assert isinstance(authors.blocks[2][0].bn2.act, torch.nn.Identity)
    assert not isinstance(timm_own.blocks[2][0].bn2.act, torch.nn.Identity)


@pytest.mark.parametrize("gap", ["missing", "unexpected", "shape"])
def test_partial_load_is_an_error_unless_allowed(tmp_path, caplog, gap):
    state = create_model("resnet18", num_classes=4).state_dict()
    if gap == "missing":
        del state["layer3.1.bn2.weight"]
    elif gap == "unexpected":
        state["layer5.0.conv1.weight"] = torch.zeros(1)
    else:
        state["layer3.1.conv2.weight"] = torch.zeros(256, 256, 1, 1)
    path = tmp_path / "w.safetensors"
    save_file(state, str(path))
    key = {"missing": "layer3.1.bn2.weight", "unexpected": "layer5.0.conv1.weight",
           "shape": "layer3.1.conv2.weight (256, 256, 1, 1) vs model (256, 256, 3, 3)"}[gap]
    for build in (lambda **kw: create_model("resnet18", num_classes=4, **kw),
                  lambda **kw: create_backbone("resnet18", **kw),
                  lambda **kw: torch.hub.load(str(REPO), "resnet18", source="local", **kw)):
        with pytest.raises(WeightsError) as err:
            build(weights=str(path))
        assert str(err.value).startswith(f"{path}: does not fit") and key in str(err.value)
        assert "allow_partial=True (--allow-partial)" in str(err.value)
    with caplog.at_level(logging.WARNING, logger="sarhub.backbones"):
        model = create_model("resnet18", num_classes=4, weights=str(path), allow_partial=True)
    record = caplog.records[-1]
    assert record.levelno == logging.WARNING and "PARTIAL: 1 backbone tensors not loaded" in record.getMessage()
    assert torch.equal(model.layer1[0].conv1.weight, state["layer1.0.conv1.weight"])


def test_a_complete_load_is_reported_at_info_and_scripts_show_it(tmp_path, caplog):
    """A complete load is INFO (quiet in a library, shown by the scripts, whose run_main turns sarhub's INFO on); a
    load that leaves tensors out is WARNING (see above)."""
    save_file(create_model("resnet18").state_dict(), str(tmp_path / "w.safetensors"))
    with caplog.at_level(logging.INFO, logger="sarhub.backbones"):
        create_model("resnet18", weights=str(tmp_path / "w.safetensors"))
    assert caplog.records[-1].levelno == logging.INFO
    code = ("import sarhub, sarhub.cli; sarhub.cli.run_main(lambda: sarhub.create_model('resnet18', "
            f"weights=r'{tmp_path / 'w.safetensors'}'))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                         env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)})
    assert "w.safetensors: 120/120 tensors matched, 0 missing" in out.stderr and not out.stdout


class _Exploit:
    def __reduce__(self):
        return (print, ("pickle code ran",))


def test_pickled_code_is_refused(tmp_path):
    path = tmp_path / "evil.pth"
    with open(path, "wb") as f:
        pickle.dump({"model": _Exploit()}, f)
    with pytest.raises(WeightsError, match="refused"):
        create_model("resnet18", weights=str(path))


def test_weights_flag_refuses_a_partial_file_unless_allow_partial(tmp_path):
    from helpers.scripts import run_script

    state = create_model("resnet18").state_dict()
    del state["layer4.1.conv2.weight"]
    path = tmp_path / "partial.safetensors"
    save_file(state, str(path))
    args = [sys.executable, "train.py", "--sim-per-class", "2", "--img-size", "32", "--batch-size", "8", "--workers",
            "0", "--model", "resnet18", "--epochs", "1", "--weights", str(path), "--output", str(tmp_path / "run")]
    proc = run_script("target_recognition", args, tmp_path, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith(f"error: {path}: does not fit this model: backbone tensors "
                                                           "1 missing (layer4.1.conv2.weight)")
    proc = run_script("target_recognition", [*args, "--allow-partial"], tmp_path)
    assert "PARTIAL: 1 backbone tensors not loaded (layer4.1.conv2.weight)" in proc.stderr
