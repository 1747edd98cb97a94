"""The scene-classification scripts end to end on tiny simulated data: torchrun with 2 CPU processes, a run killed
mid-epoch and resumed to the same final weights, test.py tables, and bad input reported in one line."""
import signal
import sys

import numpy as np
import pytest
import torch
from helpers.scripts import SCENE_TINY as TINY
from helpers.scripts import kill_when, run_script

from sarhub.checkpoints import load_checkpoint


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
def test_run_killed_from_outside_with_two_workers_resumes_to_identical_tensors(tmp_path):
    """SIGKILL while epoch 2 runs (right after epoch 1's checkpoint is announced), with two persistent DataLoader
    workers doing random crops and flips; `--resume auto` must end with every tensor of the uninterrupted run."""
    args = [sys.executable, "train.py", *TINY, "--workers", "2", "--epochs", "3"]
    run([*args, "--output", str(tmp_path / "full")], tmp_path)
    status = kill_when("SAR_scene_classification", [*args, "--output", str(tmp_path / "cut")], tmp_path,
                       "epoch 1/3: train_loss")
    assert status == -signal.SIGKILL
    assert load_checkpoint(tmp_path / "cut" / "checkpoint_last.pth")["epoch"] < 3
    run([*args, "--output", str(tmp_path / "cut"), "--resume", "auto"], tmp_path)
    full = load_checkpoint(tmp_path / "full" / "checkpoint_last.pth")
    cut = load_checkpoint(tmp_path / "cut" / "checkpoint_last.pth")
    assert cut["epoch"] == 3
    tensors = [(k, v) for k, v in full["model"].items()]
    tensors += [(f"optimizer {i} {k}", v) for i, s in full["optimizer"]["state"].items() for k, v in s.items()
                if isinstance(v, torch.Tensor)]
    for key, value in tensors:
        other = cut["model"][key] if not key.startswith("optimizer ") else \
            cut["optimizer"]["state"][int(key.split()[1])][key.split()[2]]
        assert torch.equal(value, other), key
    assert len((tmp_path / "cut" / "log.csv").read_text().splitlines()) == 4  # header + 3 epochs, no duplicates
    assert not list((tmp_path / "cut").glob(".*.tmp*"))


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
                "--resume", "auto", "--accept-changes"], tmp_path, check=False)  # other data: accepted, then bad
    assert proc.returncode == 2
    assert "9.npy" in proc.stderr and "Traceback" not in proc.stderr
    assert (out / "checkpoint_last.pth").read_bytes() == before


@pytest.mark.slow
def test_bigearthnet_original_layout_trains_multilabel(tmp_path, shared_data):
    """The 6 real BigEarthNet-S1 patches, read where they are (read-only): the split files go into the run folder."""
    data = shared_data / "bigearthnet_s1" / "BigEarthNet-S1-Example"
    out = tmp_path / "run"
    run([sys.executable, "train.py", "--dataset", "BEN", "--data-root", str(data), "--bands", "VV,VH", *TINY,
         "--epochs", "1", "--output", str(out)], tmp_path)
    state = load_checkpoint(out / "checkpoint_last.pth")
    assert state["args"]["multilabel"] and state["args"]["num_classes"] == 19 and state["args"]["in_chans"] == 2
    assert "val_micro_f1" in state["history"][0]
    assert sorted(p.name for p in out.glob("*.txt")) == ["test.txt", "train.txt", "val.txt"]
    assert not list(data.glob("*.txt"))
