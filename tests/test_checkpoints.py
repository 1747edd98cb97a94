"""Checkpoint files: atomic writes, loading that never runs pickled code or returns NaN weights, and a run's config
read back from its checkpoint."""
import pickle

import pytest
import torch

from sarhub import checkpoints
from sarhub.checkpoints import atomic_write, load_checkpoint, load_run, plain, save_checkpoint
from sarhub.errors import WeightsError
from sarhub.pipelines.targets import TargetConfig


def test_checkpoint_from_before_an_option_existed_gets_its_default(tmp_path):
    # sarhub.cli.load_run(path, signature, task, parser) became sarhub.checkpoints.load_run(path, config)
    torch.save({"args": {"fraction": 0.1}}, tmp_path / "old.pth")
    run, _ = load_run(tmp_path / "old.pth", TargetConfig)
    assert run.data.fraction == 0.1 and run.data.random_crop is None
    torch.save({"args": {"crop_size": 512}}, tmp_path / "other.pth")
    with pytest.raises(WeightsError, match="not a target_recognition run"):
        load_run(tmp_path / "other.pth", TargetConfig)


def test_save_then_load_round_trips_and_leaves_no_temporary_file(tmp_path):
    state = {"model": {"w": torch.arange(3.0)}, "epoch": 2, "args": plain({"size": (32, 32), "lr": torch.tensor(0.5)})}
    save_checkpoint(state, tmp_path / "run" / "checkpoint_last.pth")
    loaded = load_checkpoint(tmp_path / "run" / "checkpoint_last.pth")
    assert torch.equal(loaded["model"]["w"], state["model"]["w"]) and loaded["epoch"] == 2
    assert loaded["args"] == {"size": [32, 32], "lr": 0.5}  # plain values only: tuples as lists, tensors as numbers
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["checkpoint_last.pth"]


def test_interrupted_write_keeps_the_old_file_whole(tmp_path, monkeypatch):
    path = tmp_path / "log.json"
    atomic_write(path, b"old")

    def interrupt(fd):  # a kill arriving after the temporary file was written, before the rename
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoints.os, "fsync", interrupt)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, b"new")
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["log.json"]


class _Exploit:
    def __reduce__(self):
        return (print, ("pickle code ran",))


def test_missing_unsafe_and_nan_checkpoints_are_refused_naming_the_file(tmp_path, capsys):
    with pytest.raises(WeightsError, match="none.pth: checkpoint not found"):
        load_checkpoint(tmp_path / "none.pth")
    with open(tmp_path / "evil.pth", "wb") as handle:
        pickle.dump({"model": _Exploit()}, handle, protocol=4)
    with pytest.raises(WeightsError, match="evil.pth: not a readable checkpoint"):
        load_checkpoint(tmp_path / "evil.pth")
    assert "pickle code ran" not in capsys.readouterr().out
    save_checkpoint({"model": {"fc.weight": torch.tensor([1.0, float("nan")])}}, tmp_path / "nan.pth")
    with pytest.raises(WeightsError, match=r"nan.pth: model weights hold NaN/inf \(fc.weight\)"):
        load_checkpoint(tmp_path / "nan.pth")
    torch.save([1, 2], tmp_path / "list.pth")
    with pytest.raises(WeightsError, match="not a checkpoint of this project"):
        load_checkpoint(tmp_path / "list.pth")
