"""BYOL pre-training in-process on a tiny simulated pool: the kNN monitor selects checkpoint_best, the manifest and
`backbone.safetensors` (with its input contract) are written, and a run stopped after one epoch and resumed ends
with exactly the weights of the uninterrupted run."""
import dataclasses
import json

import torch
from safetensors import safe_open

import sarhub
from sarhub.callbacks import Callback
from sarhub.checkpoints import load_checkpoint
from sarhub.pipelines import byol


def tiny(out, *extra):
    cfg = byol.parse(["--output", str(out), "--epochs", "2", "--batch-size", "8", "--img-size", "32",
                      "--workers", "0", *extra])
    return dataclasses.replace(cfg, tile_size=32, sim_per_class=6, hidden_dim=32, proj_dim=16)


class StopAfterFirstEpoch(Callback):
    def on_epoch_end(self, run, row):
        run.stop = run.epoch == 1


def test_pretrain_writes_manifest_and_a_backbone_that_loads_with_its_contract(tmp_path):
    out = tmp_path / "run"
    history = byol.pretrain(tiny(out))
    assert len(history) == 2 and all("knn_top1" in row and row["feature_spread"] > 0 for row in history)
    assert (out / "checkpoint_best.pth").is_file()
    manifest = json.loads((out / "pool_manifest.json").read_text())
    assert manifest["name"] == "simulated_pool" and manifest["tiles"] == load_checkpoint(
        out / "checkpoint_last.pth")["args"]["pool_tiles"]
    model = sarhub.create_model("resnet18", weights=str(out / "backbone.safetensors"), num_classes=3)
    contract = model.input_contract
    assert contract.in_chans == 1 and contract.per_image_norm and contract.drae_method == "none"
    with safe_open(str(out / "backbone.safetensors"), framework="pt") as handle:
        assert "Reinhard–Devlin" in json.loads(handle.metadata()["input_rule"])
        assert not any(key.startswith(("fc.", "projector", "target")) for key in handle.keys())


def test_stopped_and_resumed_run_equals_the_uninterrupted_one(tmp_path):
    byol.pretrain(tiny(tmp_path / "full"))
    byol.pretrain(tiny(tmp_path / "cut"), callbacks=[StopAfterFirstEpoch()])
    assert load_checkpoint(tmp_path / "cut" / "checkpoint_last.pth")["epoch"] == 1
    byol.pretrain(tiny(tmp_path / "cut", "--resume", "auto"))
    full = load_checkpoint(tmp_path / "full" / "checkpoint_last.pth")["model"]
    resumed = load_checkpoint(tmp_path / "cut" / "checkpoint_last.pth")["model"]
    assert full.keys() == resumed.keys()
    assert all(torch.equal(full[k], resumed[k]) for k in full)
