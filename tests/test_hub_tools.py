"""Model-Hub publishing tools: registering a downloaded file refuses pickles and files that do not fit the network,
and an export name never leaves its folder."""
import pytest
import torch
from helpers.hub_fixture import write_run
from safetensors.torch import save_file

from sarhub import create_model, hub, hub_tools
from sarhub.errors import ConfigError, WeightsError


def test_register_refuses_pickles_and_files_that_do_not_fit(user_home, capsys):
    torch.save(create_model("resnet18").state_dict(), user_home / "ResNet18_TSX.pth")
    with pytest.raises(WeightsError, match="python -m sarhub.hub convert --source"):
        hub_tools.main(["register", "--name", "resnet18-tsx", "--file", str(user_home / "ResNet18_TSX.pth")])
    state = create_model("resnet18").state_dict()
    del state["layer2.0.conv1.weight"]
    save_file(state, str(user_home / "partial.safetensors"))
    with pytest.raises(WeightsError, match=r"1 missing \(layer2.0.conv1.weight\)"):
        hub_tools.main(["register", "--name", "resnet18-tsx", "--file", str(user_home / "partial.safetensors")])
    assert hub.entry("resnet18-tsx")["sha256"] is None


@pytest.mark.parametrize("name", ["../x", "a/b", "..", "/tmp/x", ""])
def test_export_name_cannot_leave_out_dir(user_home, name):
    _, ckpt = write_run(user_home)
    with pytest.raises((WeightsError, ConfigError)):
        hub_tools.main(["export", "--checkpoint", str(ckpt), "--name", name, "--out-dir", str(user_home / "out")])
    assert not list(user_home.rglob("*.safetensors"))


def test_export_hf_writes_the_folder_timm_loads_with_the_same_outputs(user_home, tmp_path):
    """`export --hf DIR` writes config.json (the pretrained_cfg) + model.safetensors: timm's local-dir: loader (the
    layout of a Hugging Face Hub repository) builds the same network as sarhub.create_model from the Hub file."""
    import json

    import timm

    model, ckpt = write_run(tmp_path)
    hub_tools.main(["export", "--checkpoint", str(ckpt), "--name", "r18-hf-test", "--out-dir", str(tmp_path / "w"),
                    "--manifest", str(tmp_path / "manifest.json"), "--hf", str(tmp_path / "hf")])
    config = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert config["architecture"] == "resnet18" and config["pretrained_cfg"]["input_size"] == [1, 32, 32]
    from_timm = timm.create_model(f"local-dir:{tmp_path / 'hf'}", pretrained=True).eval()
    from_hub = create_model("resnet18", weights=str(tmp_path / "w" / "r18-hf-test.safetensors"), num_classes=0).eval()
    x = torch.rand(2, 1, 32, 32)
    with torch.no_grad():
        assert torch.allclose(from_timm(x), from_hub(x), atol=1e-6)
        assert torch.allclose(from_timm(x), model.forward_head(model.forward_features(x), pre_logits=True), atol=1e-6)
