"""Run folders: one run at a time, a finished run never overwritten by accident, --overwrite keeping the old run
until the new one has a checkpoint, and resume's changed settings named."""
import pytest
from filelock import FileLock

from sarhub.errors import RunDirError
from sarhub.rundir import LOCK_NAME, PREVIOUS, changed_settings, claim_run_dir, clear_previous_run


def finished_run(out):
    out.mkdir(parents=True)
    (out / "checkpoint_last.pth").write_bytes(b"old weights")
    (out / "log.csv").write_text("epoch\n1\n")
    return out


def files(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and p.name != LOCK_NAME}


def test_a_finished_run_is_refused_unless_resumed_and_stale_temporaries_go(tmp_path):
    out = finished_run(tmp_path / "run")
    (out / ".checkpoint_last.pth.tmp123.abcd").write_bytes(b"half a write")
    with pytest.raises(RunDirError, match="already holds a run .*checkpoint_last.pth.*--resume auto"):
        with claim_run_dir(out):
            pass
    with claim_run_dir(out, resume="auto") as held:
        assert held == out.resolve()
        with claim_run_dir(out):  # re-entrant within one process
            pass
    assert files(out) == {"checkpoint_last.pth": b"old weights", "log.csv": b"epoch\n1\n"}
    with claim_run_dir(out, resume=str(out / "checkpoint_last.pth")):
        pass


def test_a_folder_locked_by_another_run_is_refused(tmp_path):
    out = tmp_path / "busy"
    out.mkdir()
    with FileLock(str(out / LOCK_NAME)), pytest.raises(RunDirError, match="another run is using this output folder"):
        with claim_run_dir(out):
            pass


def test_overwrite_restores_the_old_run_when_the_new_one_fails_before_a_checkpoint(tmp_path):
    out = finished_run(tmp_path / "run")
    old = files(out)
    with pytest.raises(KeyboardInterrupt), claim_run_dir(out, overwrite=True):
        assert files(out / PREVIOUS) == old and not (out / "checkpoint_last.pth").exists()
        (out / "log.csv").write_text("the new run's partial log")
        raise KeyboardInterrupt
    assert files(out) == old and not (out / PREVIOUS).exists()
    with claim_run_dir(out, overwrite=True):
        (out / "checkpoint_last.pth").write_bytes(b"new weights")
        clear_previous_run(out)  # what the new run does after its first checkpoint
    assert files(out) == {"checkpoint_last.pth": b"new weights"} and not (out / PREVIOUS).exists()


def test_changed_settings_name_both_values():
    saved = {"lr": 0.01, "size": [32, 32], "seed": 0, "old_only": 1}
    now = {"lr": 0.02, "size": (32, 32), "seed": 0, "new_only": 2}
    assert changed_settings(saved, now, ["lr", "size", "seed", "old_only", "new_only"]) == ["lr: 0.01 → 0.02"]
