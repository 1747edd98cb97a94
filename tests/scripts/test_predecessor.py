"""The predecessor paper's tools (GRSL 2020) wired into the scene scripts: bagging with a vote, transitive transfer
(optical image folders -> SAR, frozen backbone)."""
import sys

import numpy as np
import pytest
import torch
from helpers.scripts import SCENE_TINY as TINY
from helpers.scripts import run_script
from PIL import Image

from sarhub.checkpoints import load_checkpoint


def run(args, tmp_path, check=True):
    return run_script("SAR_scene_classification", args, tmp_path, check)


@pytest.mark.slow
def test_bagging_trains_members_and_test_reports_the_vote(tmp_path):
    run([sys.executable, "bagging.py", "--k", "2", *TINY, "--epochs", "1", "--output", str(tmp_path / "bag")], tmp_path)
    members = sorted(str(p) for p in (tmp_path / "bag").glob("bag*/checkpoint_last.pth"))
    assert len(members) == 2
    a, b = (load_checkpoint(m) for m in members)
    assert a["args"]["bootstrap_seed"] == 0 and b["args"]["bootstrap_seed"] == 1
    proc = run([sys.executable, "test.py", "--checkpoint", *members, "--no-append", "--workers", "0"], tmp_path)
    assert "majority vote" in proc.stdout


@pytest.mark.slow
def test_transitive_transfer_from_optical_folder_to_sar(tmp_path):
    optical = tmp_path / "nwpu"
    rng = np.random.default_rng(0)
    for k, cls in enumerate(("airport", "forest")):
        (optical / cls).mkdir(parents=True)
        for i in range(6):
            rgb = (rng.random((40, 40, 3)) * (80 + 100 * k)).astype(np.uint8)
            Image.fromarray(rgb).save(optical / cls / f"{i}.jpg")
    run([sys.executable, "train.py", "--dataset", "folder", "--data-root", str(optical), *TINY, "--epochs", "1",
         "--output", str(tmp_path / "opt")], tmp_path)
    opt = load_checkpoint(tmp_path / "opt" / "checkpoint_last.pth")
    assert opt["args"]["in_chans"] == 1  # RGB folders are read as one grey channel (BT.601 luma)
    run([sys.executable, "train.py", *TINY, "--epochs", "1", "--weights", str(tmp_path / "opt" / "checkpoint_last.pth"),
         "--freeze-backbone", "--output", str(tmp_path / "sar")], tmp_path)
    sar = load_checkpoint(tmp_path / "sar" / "checkpoint_last.pth")
    # conv1 is the optical (grey) one and stayed frozen; only the classifier trained
    assert torch.equal(sar["model"]["conv1.weight"], opt["model"]["conv1.weight"])
    assert torch.equal(sar["model"]["layer4.1.conv2.weight"], opt["model"]["layer4.1.conv2.weight"])
    assert torch.equal(sar["model"]["layer4.1.bn2.running_mean"], opt["model"]["layer4.1.bn2.running_mean"])
    assert sar["model"]["fc.weight"].shape[0] == 3
