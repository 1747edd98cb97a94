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
