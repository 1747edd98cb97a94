"""BYOL pre-training in-process on a tiny simulated pool: the kNN monitor selects checkpoint_best, the manifest and
`backbone.safetensors` (with its input contract) are written (exact resume: tests/pipelines/test_reproducible.py)."""
import json

from safetensors import safe_open

import sarhub
from sarhub.checkpoints import load_checkpoint
from sarhub.cli import parse_config
from sarhub.pipelines import byol

TINY = ["--epochs", "2", "--batch-size", "8", "--view-size", "32", "--tile-size", "32", "--sim-per-class", "6",
        "--hidden-dim", "32", "--proj-dim", "16"]


def tiny(out, *extra):
    return parse_config(byol.BYOLConfig, [*TINY, "--output", str(out), "--workers", "0", *extra])


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
    assert contract.in_chans == 1 and contract.options.per_image_norm and contract.drae.method == "none"
    with safe_open(str(out / "backbone.safetensors"), framework="pt") as handle:
        assert "Reinhard–Devlin" in json.loads(handle.metadata()["input_rule"])
        assert not any(key.startswith(("fc.", "projector", "target")) for key in handle.keys())
