"""Model-Hub: export -> load by name (sarhub and torch.hub) bit for bit, tampered files and pickled code refused,
and the authors' checkpoint layouts converted to identical 1-channel models."""
import pickle
import re
from pathlib import Path

import pytest
import timm
import torch
import torchvision

from sarhub import create_model, hub
from sarhub.errors import DataError

REPO = Path(__file__).resolve().parents[1]
sys_path = str(REPO / "weights")


@pytest.fixture
def tiny_export(tmp_path, monkeypatch):
    manifest = tmp_path / "manifest.json"
    monkeypatch.setenv("SARHUB_MANIFEST", str(manifest))
    model = create_model("resnet18", num_classes=3, img_size=32).eval()
    ckpt = tmp_path / "run" / "checkpoint_best.pth"
    ckpt.parent.mkdir()
    torch.save({"model": model.state_dict(), "epoch": 7,
                "args": {"model": "resnet18", "num_classes": 3, "in_chans": 1, "img_size": 32, "dataset": "TSX"}}, ckpt)
    entry = hub.export_checkpoint(ckpt, "resnet18-tiny", tmp_path / "files", score=55.5)
    return model, entry, tmp_path


def test_export_then_load_by_name_is_bit_identical(tiny_export):
    model, entry, tmp = tiny_export
    assert entry["sha256"] == hub.sha256(tmp / "files" / "resnet18-tiny.safetensors")
    x = torch.rand(2, 1, 32, 32)
    loaded = create_model("resnet18", weights="resnet18-tiny", weights_dir=tmp / "files", num_classes=0).eval()
    assert torch.equal(loaded(x), model.forward_head(model.forward_features(x), pre_logits=True))
    via_hub = torch.hub.load(str(REPO), "resnet18", weights="resnet18-tiny", source="local",
                             weights_dir=tmp / "files").eval()
    assert torch.equal(via_hub(x), loaded(x))
    assert "resnet18-tiny" in hub.markdown_table()


def test_tampered_file_is_refused_naming_both_hashes(tiny_export):
    _, entry, tmp = tiny_export
    path = tmp / "files" / "resnet18-tiny.safetensors"
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(DataError) as err:
        create_model("resnet18", weights="resnet18-tiny", weights_dir=tmp / "files")
    assert entry["sha256"] in str(err.value) and hub.sha256(path) in str(err.value)


def test_wrong_architecture_and_missing_file_are_clear(tiny_export):
    _, _, tmp = tiny_export
    with pytest.raises(DataError, match="are for resnet18, not swin_t"):
        create_model("swin_t", weights="resnet18-tiny", weights_dir=tmp / "files")
    (tmp / "files" / "resnet18-tiny.safetensors").unlink()
    with pytest.raises(DataError, match="put resnet18-tiny.safetensors"):
        create_model("resnet18", weights="resnet18-tiny", weights_dir=tmp / "files")


MARKER = []


def _mark():
    MARKER.append("ran")


class _Exploit:
    def __reduce__(self):
        return (_mark, ())


def test_pickle_that_executes_code_is_refused(tmp_path):
    path = tmp_path / "evil.pth"
    with open(path, "wb") as f:
        pickle.dump({"state_dict": {"conv1.weight": _Exploit()}}, f)
    with pytest.raises(DataError, match="refused"):
        create_model("resnet18", weights=str(path))
    assert MARKER == []


# --- conversion of the authors' layouts --------------------------------------------------------------------------

def _convert(path, arch):
    import sys

    sys.path.insert(0, sys_path)
    from convert import convert

    return convert(path, arch)


@pytest.mark.parametrize("arch", ["resnet18", "densenet121"])
def test_torchvision_layouts_convert_to_identical_outputs(tmp_path, arch):
    torch.manual_seed(0)
    src = getattr(torchvision.models, arch)(num_classes=32).eval()
    state = {f"module.{k}": v for k, v in src.state_dict().items()}
    if arch == "densenet121":  # the old torchvision key style of released DenseNet checkpoints
        state = {re.sub(r"(denselayer\d+\.(?:norm|conv))([12])\.", r"\1.\2.", k): v for k, v in state.items()
                 if not k.endswith("num_batches_tracked")}
    torch.save({"model": state}, tmp_path / "src.pth")
    model, report = _convert(tmp_path / "src.pth", arch)
    assert report.adapted and not [k for k in report.missing if not k.endswith("num_batches_tracked")]
    x = torch.rand(2, 1, 64, 64)
    assert torch.allclose(model.eval()(x), src(x.repeat(1, 3, 1, 1)), atol=1e-4)


def test_microsoft_swin_layout_converts(tmp_path):
    """Build Microsoft's key layout from a timm model (downsample at the end of a stage, plain head, index buffers)."""
    torch.manual_seed(0)
    ref = timm.create_model("swin_tiny_patch4_window7_224", img_size=128, window_size=4, num_classes=32,
                            in_chans=3).eval()
    ms = {}
    for k, v in ref.state_dict().items():
        m = re.match(r"layers\.(\d+)\.downsample\.(.*)", k)
        k = f"layers.{int(m.group(1)) - 1}.downsample.{m.group(2)}" if m else k
        ms[k.replace("head.fc.", "head.")] = v
    for i, depth in enumerate((2, 2, 6, 2)):
        for b in range(depth):
            ms[f"layers.{i}.blocks.{b}.attn.relative_position_index"] = torch.zeros(16, 16, dtype=torch.long)
    torch.save({"model": ms}, tmp_path / "swin.pth")
    model, report = _convert(tmp_path / "swin.pth", "swin_t")
    x = torch.rand(1, 1, 128, 128)
    assert torch.allclose(model.eval()(x), ref(x.repeat(1, 3, 1, 1)), atol=1e-4)


@pytest.mark.parametrize("arch, timm_name", [("senet50", "legacy_seresnet50"), ("mobilenetv3", "mobilenetv3_small_100")])
def test_order_matched_layouts_convert_and_mismatch_fails(tmp_path, arch, timm_name):
    torch.manual_seed(0)
    ref = timm.create_model(timm_name, num_classes=32, in_chans=3).eval()
    # another module naming, same order and leaf names (weight, bias, running_mean, num_batches_tracked, ...)
    foreign = {f"net.p{i}.{k.rsplit('.', 1)[1]}": v for i, (k, v) in enumerate(ref.state_dict().items())}
    torch.save(foreign, tmp_path / "src.pth")
    model, _ = _convert(tmp_path / "src.pth", arch)
    x = torch.rand(1, 1, 64, 64)
    assert torch.allclose(model.eval()(x), ref(x.repeat(1, 3, 1, 1)), atol=1e-4)
    broken = dict(list(foreign.items())[:-3])
    torch.save(broken, tmp_path / "bad.pth")
    with pytest.raises(DataError):
        _convert(tmp_path / "bad.pth", arch)
