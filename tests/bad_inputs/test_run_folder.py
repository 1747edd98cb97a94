"""Run folders (issue 26): nothing a user wrote is lost, a refused command writes nothing, files land only where
they should, and a full disk is one line."""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from collections import namedtuple

import pytest
from helpers.inputs import REPO, TARGET, TINY, files_of, mstar_set, npy_set, one_line_error, script

from sarhub.rundir import PREVIOUS

SCENE = script("SAR_scene_classification", "train")
TARGET_TRAIN = script("target_recognition", "train")
SEGMENTATION = script("semantic_segmentation", "train")


def test_rerunning_a_finished_run_without_resume_is_refused_and_changes_nothing(finished_scene, capsys):
    before = files_of(finished_scene)
    line = one_line_error(capsys, lambda: SCENE.main([*TINY, "--output", str(finished_scene)]))
    assert "already holds a run" in line and "--resume auto" in line and "--overwrite" in line
    assert files_of(finished_scene) == before


def test_a_refused_rerun_writes_nothing_into_the_finished_run(tmp_path, capsys):
    out = tmp_path / "t"
    TARGET_TRAIN.main([*TARGET, "--output", str(out), "--fraction", "0.5"])
    before = files_of(out)
    one_line_error(capsys, lambda: TARGET_TRAIN.main([*TARGET, "--output", str(out), "--fraction", "0.5", "--seed",
                                                      "7"]))
    assert files_of(out) == before  # no mstar_train_50pct_seed7.txt


def test_a_second_run_on_a_folder_in_use_is_refused(tmp_path, capsys):
    from filelock import FileLock

    out = tmp_path / "busy"
    out.mkdir()
    with FileLock(str(out / ".run.lock")):  # another live run holds the folder
        line = one_line_error(capsys, lambda: SCENE.main([*TINY, "--output", str(out)]))
    assert "another run is using this output folder" in line
    assert not list(out.glob("checkpoint*")) and not (out / "args.json").exists()


def test_overwrite_keeps_the_old_run_until_the_new_first_checkpoint(finished_scene, tmp_path, capsys):
    old = files_of(finished_scene)
    (finished_scene / ".checkpoint_last.pth.tmp999").write_bytes(b"half a checkpoint of a killed write")
    data = npy_set(tmp_path / "data", {c: [(8, 8)] * 4 for c in "ab"}, {"b/9.npy": b"garbage"})
    one_line_error(capsys, lambda: SCENE.main([*TINY, "--data-root", str(data), "--dataset", "folder", "--output",
                                               str(finished_scene), "--overwrite", "--batch-size", "2"]))
    assert files_of(finished_scene) == old  # failed before its first checkpoint: the old run is back in place
    SCENE.main([*TINY, "--output", str(finished_scene), "--overwrite", "--seed", "1", "--save-every", "1"])
    assert json.loads((finished_scene / "args.json").read_text())["seed"] == 1
    assert not (finished_scene / PREVIOUS).exists() and not list(finished_scene.glob(".*.tmp*"))


def test_overwrite_interrupted_before_its_first_checkpoint_keeps_the_old_run(finished_scene):
    from sarhub.rundir import claim_run_dir

    old = files_of(finished_scene)
    with pytest.raises(KeyboardInterrupt), claim_run_dir(finished_scene, overwrite=True):
        assert not (finished_scene / "checkpoint_last.pth").exists()
        moved = {k: v for k, v in old.items() if k != ".run.lock"}
        assert files_of(finished_scene / PREVIOUS) == moved  # the window a kill -9 would hit: the old run is whole
        raise KeyboardInterrupt
    assert files_of(finished_scene) == old


def test_split_files_go_to_the_run_folder_never_into_the_data_root(tmp_path):
    data = npy_set(tmp_path / "d", {c: [(8, 8)] * 6 for c in "ab"})
    before = files_of(data)
    out = tmp_path / "r"
    SCENE.main([*TINY, "--data-root", str(data), "--dataset", "folder", "--output", str(out), "--batch-size", "2"])
    assert files_of(data) == before
    assert {"train.txt", "val.txt", "test.txt", "classes.txt"} <= {p.name for p in out.iterdir()}


def test_segmentation_folder_split_goes_to_the_run_folder(tmp_path):
    from PIL import Image

    data = tmp_path / "seg"
    for sub in ("images", "masks"):
        (data / sub).mkdir(parents=True)
    for i in range(6):
        Image.fromarray((i * 40 + 10) * __import__("numpy").ones((40, 40), "uint8")).save(data / "images" / f"{i}.png")
        Image.fromarray((__import__("numpy").arange(1600).reshape(40, 40) % 2).astype("uint8")).save(
            data / "masks" / f"{i}.png")
    os.chmod(data, 0o555)  # a read-only data root is a valid setup
    try:
        before = files_of(data)
        out = tmp_path / "run"
        SEGMENTATION.main(["--dataset", "folder", "--data-root", str(data), "--iterations", "2", "--eval-interval",
                           "2", "--crop-size", "32", "--batch-size", "2", "--workers", "0", "--output", str(out)])
        assert files_of(data) == before and (out / "split_seed0.json").is_file()
    finally:
        os.chmod(data, 0o755)


def test_full_disk_is_one_line_and_leaves_no_temporary_file(tmp_path, capsys, monkeypatch):
    import shutil

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 1000, 1000))
    out = tmp_path / "full_disk"
    line = one_line_error(capsys, lambda: SCENE.main([*TINY, "--output", str(out)]))
    assert "No space left on device" in line and "MiB free" in line
    assert not list(out.glob(".*.tmp*")) and not list(out.glob("checkpoint*"))


def test_a_file_size_limit_is_one_line(tmp_path, finished_scene):
    """`ulimit -f`: the write fails with EFBIG (the script ignores SIGXFSZ), one line, exit 2, nothing half-written."""
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))

    proc = subprocess.run([sys.executable, "-m", "sarhub.hub", "export", "--checkpoint",
                           str(finished_scene / "checkpoint_last.pth"), "--name", "r18-limit", "--out-dir",
                           str(tmp_path / "w"), "--manifest", str(tmp_path / "m.json")], capture_output=True,
                          text=True, preexec_fn=limit, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0 and "File too large" in proc.stderr
    assert not list((tmp_path / "w").glob("*"))


def test_hub_export_refuses_an_existing_or_packaged_name_and_writes_with_the_umask(finished_scene, tmp_path,
                                                                                     capsys):
    from sarhub.hub_tools import main

    ckpt = str(finished_scene / "checkpoint_last.pth")
    common = ["--checkpoint", ckpt, "--out-dir", str(tmp_path / "w"), "--manifest", str(tmp_path / "m.json")]
    line = one_line_error(capsys, lambda: main(["export", *common, "--name", "resnet18-tsx"]))
    assert "exists already" in line and "--replace" in line
    main(["export", *common, "--name", "r18-mine"])
    before = files_of(tmp_path / "w")
    assert "exists already" in one_line_error(capsys, lambda: main(["export", *common, "--name", "r18-mine"]))
    assert files_of(tmp_path / "w") == before
    mode = (tmp_path / "w" / "r18-mine.safetensors").stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask
    main(["export", *common, "--name", "r18-mine", "--replace", "--score", "1.5"])
    assert json.loads((tmp_path / "m.json").read_text())["weights"][0]["score"] == 1.5


def test_mstar_subset_lists_and_opensarship_splits_go_to_the_run_folder(tmp_path):
    root = mstar_set(tmp_path / "m", ("A", "B"), ("A", "B"), n=4)
    before = files_of(root)
    out = tmp_path / "t"
    TARGET_TRAIN.main([*TARGET, "--data-root", str(root), "--output", str(out), "--fraction", "0.5",
                       "--batch-size", "2"])
    assert files_of(root) == before and (out / "mstar_train_50pct_seed0.txt").is_file()
