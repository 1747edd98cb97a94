"""The scene-classification scripts end to end on tiny simulated data: torchrun with 2 CPU processes, a run killed
mid-epoch and resumed to the same final weights, test.py tables, and bad input reported in one line."""
import sys

import numpy as np
import pytest
import torch

from sarhub.engine import load_checkpoint
from scripts import run_script

TINY = ["--sim-classes", "3", "--sim-per-class", "12", "--img-size", "32", "--batch-size", "8", "--workers", "0",
        "--model", "resnet18"]


def run(args, tmp_path, check=True):
    return run_script("SAR_scene_classification", args, tmp_path, check)


@pytest.mark.slow
def test_torchrun_two_cpu_processes_write_checkpoints_and_log(tmp_path):
    out = tmp_path / "ddp"
    run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
         "train.py", *TINY, "--epochs", "2", "--output", str(out)], tmp_path)
    state = load_checkpoint(out / "checkpoint_last.pth")
    assert state["epoch"] == 2 and state["args"]["world_size"] == 2
    assert (out / "checkpoint_best.pth").is_file()
    log = (out / "log.csv").read_text().splitlines()
    assert log[0].startswith("epoch,train_loss") and len(log) == 3
    assert "top1" in log[0]


@pytest.mark.slow
def test_killed_run_resumes_to_identical_weights(tmp_path):
    args = [sys.executable, "train.py", *TINY, "--epochs", "3"]
    run([*args, "--output", str(tmp_path / "full")], tmp_path)
    # 17 training images / batch 8 -> 2 steps per epoch: step 3 is in the middle of the second epoch
    killed = run([*args, "--output", str(tmp_path / "cut"), "--kill-at-step", "3"], tmp_path, check=False)
    assert killed.returncode != 0
    assert load_checkpoint(tmp_path / "cut" / "checkpoint_last.pth")["epoch"] == 1
    run([*args, "--output", str(tmp_path / "cut"), "--resume", "auto"], tmp_path)
    full = load_checkpoint(tmp_path / "full" / "checkpoint_last.pth")
    cut = load_checkpoint(tmp_path / "cut" / "checkpoint_last.pth")
    assert cut["epoch"] == 3
    for key, value in full["model"].items():
        assert torch.equal(value, cut["model"][key]), key
    assert len((tmp_path / "cut" / "log.csv").read_text().splitlines()) == 4  # header + 3 epochs, no duplicates


@pytest.mark.slow
def test_test_script_reports_gamma_robustness_and_appends_row(tmp_path):
    out = tmp_path / "run"
    run([sys.executable, "train.py", *TINY, "--epochs", "1", "--output", str(out)], tmp_path)
    results = tmp_path / "results"
    proc = run([sys.executable, "test.py", "--checkpoint", str(out / "checkpoint_last.pth"), "--gamma",
                "0.95,1.0,1.05", "--results", str(results), "--workers", "0"], tmp_path)
    assert "variance of accuracy" in proc.stdout
    table = results.with_suffix(".md").read_text()
    assert "| resnet18 | TSX | simulator |" in table
    assert (out / "confusion_test.png").stat().st_size > 1000


def test_corrupt_data_gives_one_line_error_and_keeps_checkpoints(tmp_path):
    out = tmp_path / "run"
    run([sys.executable, "train.py", *TINY, "--epochs", "1", "--output", str(out)], tmp_path)
    before = (out / "checkpoint_last.pth").read_bytes()
    data = tmp_path / "data"
    for cls in "abc":
        (data / cls).mkdir(parents=True)
        for i in range(4):
            np.save(data / cls / f"{i}.npy", np.random.default_rng(i).random((8, 8)).astype(np.float32))
    (data / "b" / "9.npy").write_bytes(b"garbage")
    (data / "classes.txt").write_text("a\nb\nc\n")
    listing = [f"{c}/{i}.npy {k}" for k, c in enumerate("abc") for i in range(4)]
    (data / "train.txt").write_text("\n".join(listing + ["b/9.npy 1"]) + "\n")
    (data / "val.txt").write_text("\n".join(listing) + "\n")
    proc = run([sys.executable, "train.py", *TINY, "--data-root", str(data), "--output", str(out), "--epochs", "2",
                "--resume", "auto"], tmp_path, check=False)
    assert proc.returncode == 2
    assert "9.npy" in proc.stderr and "Traceback" not in proc.stderr
    assert (out / "checkpoint_last.pth").read_bytes() == before


@pytest.mark.slow
def test_bigearthnet_original_layout_trains_multilabel(tmp_path, shared_data):
    """The 6 real BigEarthNet-S1 patches, copied so split files can be written beside them."""
    import shutil

    data = tmp_path / "ben"
    shutil.copytree(shared_data / "bigearthnet_s1" / "BigEarthNet-S1-Example", data)
    out = tmp_path / "run"
    run([sys.executable, "train.py", "--dataset", "BEN", "--data-root", str(data), "--bands", "VV,VH", *TINY,
         "--epochs", "1", "--output", str(out)], tmp_path)
    state = load_checkpoint(out / "checkpoint_last.pth")
    assert state["args"]["multilabel"] and state["args"]["num_classes"] == 19 and state["args"]["in_chans"] == 2
    assert "val_micro_f1" in state["history"][0]
    assert sorted(p.name for p in data.glob("*.txt")) == ["test.txt", "train.txt", "val.txt"]
