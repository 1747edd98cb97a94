"""Model-Hub: export -> load by name (sarhub, torch.hub, a fresh clone) bit for bit with its input contract; entries
without a sha256 (until the user registers the file), tampered files and pickled code are refused."""
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
import torch
from helpers.hub_fixture import RUN_ARGS, write_run
from safetensors.torch import save_file

from sarhub import create_backbone, create_model, hub, hub_tools
from sarhub.backbones import resolve_name
from sarhub.errors import WeightsError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def tiny_export(user_home):
    model, ckpt = write_run(user_home)
    entry = hub_tools.export_checkpoint(ckpt, "resnet18-tiny", user_home / "files", score=55.5, amplitude_scale=36000.0)
    return model, entry, user_home


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


def test_the_input_contract_travels_with_the_weights(tiny_export, capsys):
    _, entry, tmp = tiny_export
    contract = entry["input"]
    assert contract == {"in_chans": 1, "img_size": 32, "amplitude_scale": 36000.0, "drae_method": "rd",
                        "drae_range": [3.5, 4.5], "drae_test": 4.0, "drae_xavg": 0.169, "log_transform": 0.0,
                        "norm_mean": [0.2], "norm_std": [0.05], "per_image_norm": True}
    file = tmp / "files" / "resnet18-tiny.safetensors"
    meta = hub.entry_from_metadata(hub.read_metadata(file))
    assert meta["input"] == contract and meta["architecture"] == "resnet18" and meta["pretraining"] == "TSX"
    model = create_model("resnet18", weights="resnet18-tiny", weights_dir=tmp / "files", num_classes=10)
    assert model.input_contract.as_dict() == contract
    assert create_model("resnet18", weights=str(file)).input_contract == model.input_contract  # the file alone
    assert create_backbone("resnet18", weights="resnet18-tiny", weights_dir=tmp / "files").input_contract == \
        model.input_contract
    x = torch.rand(2, 1, 32, 32)
    assert torch.equal(model.input_contract.preprocess()(x), hub.InputContract.from_run(RUN_ARGS).preprocess()(x))
    hub_tools.main(["show", "resnet18-tiny"])
    shown = capsys.readouterr().out
    for text in ("1 channel(s), 32×32 px", "36000.0", "rd, test value 4.0", "fixed x_avg 0.169",
                 "per-image std.:   yes", "mean [0.2], std [0.05]", entry["sha256"]):
        assert text in shown
    hub_tools.main(["show", str(file)])
    assert "rd, test value 4.0" in capsys.readouterr().out


def test_tampered_file_is_refused_naming_both_hashes(tiny_export):
    _, entry, tmp = tiny_export
    path = tmp / "files" / "resnet18-tiny.safetensors"
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError) as err:
        create_model("resnet18", weights="resnet18-tiny", weights_dir=tmp / "files")
    assert entry["sha256"] in str(err.value) and hub.sha256(path) in str(err.value)


def test_wrong_architecture_and_missing_file_are_clear(tiny_export):
    _, _, tmp = tiny_export
    with pytest.raises(WeightsError, match="are for resnet18, not swin_t"):
        create_model("swin_t", weights="resnet18-tiny", weights_dir=tmp / "files")
    (tmp / "files" / "resnet18-tiny.safetensors").unlink()
    with pytest.raises(WeightsError, match="put resnet18-tiny.safetensors"):
        create_model("resnet18", weights="resnet18-tiny", weights_dir=tmp / "files")


def test_entry_without_sha256_is_refused_until_the_user_registers_the_file(user_home, capsys):
    packaged = hub.PACKAGED_MANIFEST.read_text()
    with pytest.raises(WeightsError, match=r"no sha256 yet.*python -m sarhub\.hub convert --source <downloaded \.pth> "
                                        r"--arch senet50 --name senet50-tsx"):
        create_model("senet50", weights="senet50-tsx")
    # a file of the right name in a searched folder is not enough
    folder = user_home / "home" / ".cache" / "sarhub" / "weights"
    folder.mkdir(parents=True)
    model = create_model("resnet18")
    save_file(model.state_dict(), str(folder / "resnet18-tsx.safetensors"))
    with pytest.raises(WeightsError, match="no sha256 yet"):
        create_model("resnet18", weights="resnet18-tsx")
    elsewhere = user_home / "download" / "my_resnet18.safetensors"
    elsewhere.parent.mkdir()
    shutil.copyfile(folder / "resnet18-tsx.safetensors", elsewhere)
    hub_tools.main(["register", "--name", "resnet18-tsx", "--file", str(elsewhere)])
    assert "registered resnet18-tsx" in capsys.readouterr().out
    loaded = create_model("resnet18", weights="resnet18-tsx", num_classes=10)
    assert torch.equal(loaded.conv1.weight, model.conv1.weight)
    assert loaded.input_contract.drae.method == "rd" and loaded.input_contract.norm_mean == (0.17721633016340846,)
    assert hub.entry("resnet18-tsx")["sha256"] == hub.sha256(elsewhere)
    assert hub.PACKAGED_MANIFEST.read_text() == packaged  # the registration is the user's, not the package's


def test_manifest_ships_as_package_data_with_complete_contracts():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "hub_manifest.json" in pyproject["tool"]["setuptools"]["package-data"]["sarhub"]
    entries = hub.read_manifest(hub.PACKAGED_MANIFEST)
    assert len(entries) >= 24
    for e in entries.values():
        resolve_name(e["architecture"])
        assert hub.check_name(e["file"]) == e["file"]
        contract = hub.InputContract.from_dict(e["input"], hub.PACKAGED_MANIFEST)
        assert contract.in_chans == 1 and contract.norm_mean and contract.drae.method in ("rd", "ptls")


def test_committed_file_loads_on_a_fresh_clone(tmp_path):
    """A file committed under weights/files/ with its packaged manifest entry loads on a fresh clone: no download, no
    registration, no environment variables."""
    clone = tmp_path / "clone"
    shutil.copytree(REPO / "sarhub", clone / "sarhub", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "hubconf.py", clone)
    model, ckpt = write_run(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SARHUB_")}
    env.update(PYTHONPATH=str(clone), HOME=str(tmp_path / "fresh_home"), OMP_NUM_THREADS="1")
    subprocess.run([sys.executable, "-m", "sarhub.hub", "export", "--checkpoint", str(ckpt), "--name",
                    "resnet18-tsxslc", "--out-dir", str(clone / "weights" / "files"), "--manifest",
                    str(clone / "sarhub" / "hub_manifest.json"), "--amplitude-scale", "2000", "--pretraining",
                    "TSX-SLC", "--replace"],
                   check=True, env=env, cwd=tmp_path)
    x = torch.rand(2, 1, 32, 32)
    torch.save({"x": x, "y": model.forward_head(model.forward_features(x), pre_logits=True)}, tmp_path / "io.pth")
    code = ("import sarhub, torch; io = torch.load('io.pth'); "
            "m = sarhub.create_model('resnet18', weights='resnet18-tsxslc', num_classes=10).eval(); "
            "assert torch.equal(m.forward_head(m.forward_features(io['x']), pre_logits=True), io['y']); "
            "print(m.input_contract.amplitude_scale, sarhub.hub.resolve('resnet18-tsxslc'), sarhub.__file__, "
            "sarhub.hub.entry('resnet18-tsxslc')['pretraining'])")
    out = subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=tmp_path, capture_output=True,
                         text=True).stdout
    assert out.split() == ["2000.0", str(clone / "weights" / "files" / "resnet18-tsxslc.safetensors"),
                           str(clone / "sarhub" / "__init__.py"), "TSX-SLC"]


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
    with pytest.raises(WeightsError, match="refused"):
        create_model("resnet18", weights=str(path))
    assert MARKER == []


def test_committed_resnet18_tsxslc_loads_by_name_with_its_contract():
    """The real-SAR weights committed in weights/ load on a checkout with no download, backbone complete."""
    import sarhub

    model = sarhub.create_model("resnet18", weights="resnet18-tsxslc", num_classes=10)
    contract = model.input_contract
    assert (contract.in_chans, contract.img_size, contract.amplitude_scale) == (1, 64, 65535.0)
    assert (contract.drae.method, contract.drae.test_value, contract.options.per_image_norm) == ("rd", 4.0, False)
    assert model(torch.zeros(2, 1, 64, 64)).shape == (2, 10)


@pytest.mark.parametrize("name", ["resnet18-tsxslc128", "resnet18-sarpool-tsxslc128"])
def test_the_shipped_tsx_slc_128_backbones_load_with_their_contract(name):
    """Issue 25's backbones ship in half precision with a sha256 the loader checks and the contract they were trained
    with (128 px, Reinhard–Devlin t = 4 on amplitude / 65535, per-image standardisation)."""
    e = hub.entry(name)
    if not (REPO / "weights" / "files" / e["file"]).is_file():
        pytest.skip(f"weights/files/{e['file']} not in this checkout")
    model = create_model("resnet18", weights=name, num_classes=0).eval()
    contract = model.input_contract
    assert (contract.img_size, contract.drae.method, contract.drae.test_value, contract.options.per_image_norm,
            contract.amplitude_scale) == (128, "rd", 4.0, True, 65535.0)
    assert e["score"] is not None and "benchmark" in e["metric"] and len(e["sha256"]) == 64
    assert torch.isfinite(model(contract.preprocess()(torch.rand(2, 1, 128, 128)))).all()
