"""Issue 17, table-driven: each bad-input or fault case ends in one clear error line (exit status 2, no traceback)
or in the correct behaviour, never in data loss or a silently wrong result. One small case per row, in-process
(the task scripts' `main` under `run_main`, as `python script.py` runs it) on tiny simulated or hand-written data.
docs/RELIABILITY.md lists the same cases with what the user sees."""
from __future__ import annotations

import errno
import importlib.util
import json
import os
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import tifffile
import torch

from sarhub.cli import common_parser, parse_args, run_main
from sarhub.errors import DataError

REPO = Path(__file__).resolve().parents[1]
TINY = ["--sim-classes", "3", "--sim-per-class", "12", "--img-size", "32", "--batch-size", "8", "--workers", "0",
        "--model", "resnet18", "--epochs", "1"]
TARGET = ["--sim-per-class", "4", "--img-size", "32", "--crop", "32", "--batch-size", "8", "--workers", "0",
          "--epochs", "1"]


def script(task: str, name: str):
    """Import a task script by path under a unique module name (several tasks have a train.py)."""
    path = REPO / task / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_{task}_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # scripts import only sarhub, so nothing is added to the import path
    return module


SCENE = script("SAR_scene_classification", "train")
TARGET_TRAIN = script("target_recognition", "train")
MIM = script("self_supervised", "pretrain_mim")
BYOL = script("self_supervised", "pretrain_byol")
FEWSHOT = script("self_supervised", "fewshot")
EXPLAIN = script("knowledge_point", "explain")
SCENE_TEST = script("SAR_scene_classification", "test")


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("SARHUB_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))  # simulators shared by cases


def one_line_error(capsys, action: Callable[[], None]) -> str:
    """Run `action` as a script runs (run_main); it must exit with status 2 and one error line, no traceback."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        run_main(action)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2, err[-2000:]
    assert "Traceback" not in err, err[-3000:]
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1, err[-3000:]
    return errors[0]


def scene_run(tmp_path: Path, *extra: str) -> Path:
    out = tmp_path / "scene"
    SCENE.main([*TINY, "--output", str(out), *extra])
    return out


def npy_set(root: Path, shapes: dict[str, list[tuple]], bad: dict[str, bytes] | None = None) -> Path:
    """A tiny scene set in the authors' layout: class folders of float .npy files in [0, 1], plus bad files."""
    for cls, class_shapes in shapes.items():
        (root / cls).mkdir(parents=True, exist_ok=True)
        for i, shape in enumerate(class_shapes):
            np.save(root / cls / f"{i}.npy", np.random.default_rng(i).random(shape).astype(np.float32))
    for rel, content in (bad or {}).items():
        (root / rel).write_bytes(content)
    return root


def mstar_set(root: Path, train: tuple[str, ...], test: tuple[str, ...], n: int = 3) -> Path:
    from PIL import Image

    for split, classes in (("train", train), ("test", test)):
        for c, cls in enumerate(classes):
            (root / split / cls).mkdir(parents=True, exist_ok=True)
            for i in range(n):
                chip = np.random.default_rng(10 * c + i).integers(0, 255, (40, 40), dtype=np.uint8)
                Image.fromarray(chip).save(root / split / cls / f"{i}.png")
    return root


# --- data loss -----------------------------------------------------------------------------------------------------

def test_rerunning_a_finished_run_without_resume_is_refused_and_changes_nothing(tmp_path, capsys):
    out = scene_run(tmp_path)
    before = {p.name: p.read_bytes() for p in out.glob("*") if p.is_file()}
    line = one_line_error(capsys, lambda: SCENE.main([*TINY, "--output", str(out)]))
    assert "already holds a run" in line and "--resume auto" in line and "--overwrite" in line
    assert {p.name: p.read_bytes() for p in out.glob("*") if p.is_file()} == before


def test_a_second_run_on_a_folder_in_use_is_refused(tmp_path, capsys):
    from filelock import FileLock

    out = tmp_path / "busy"
    out.mkdir()
    with FileLock(str(out / ".run.lock")):  # another live run holds the folder
        line = one_line_error(capsys, lambda: SCENE.main([*TINY, "--output", str(out)]))
    assert "another run is using this output folder" in line
    assert not list(out.glob("checkpoint*")) and not (out / "args.json").exists()


def test_overwrite_replaces_the_old_run_and_stale_tmp_files_are_removed(tmp_path):
    out = scene_run(tmp_path, "--save-every", "1")
    (out / ".checkpoint_last.pth.tmp999").write_bytes(b"half a checkpoint of a killed write")
    old = (out / "checkpoint_last.pth").read_bytes()
    SCENE.main([*TINY, "--output", str(out), "--overwrite", "--seed", "1"])
    assert (out / "checkpoint_last.pth").read_bytes() != old
    assert not list(out.glob(".*.tmp*"))
    assert not (out / "checkpoint_epoch1.pth").exists()  # the old run's extra checkpoints went with it
    assert json.loads((out / "args.json").read_text())["seed"] == 1


def test_failed_run_keeps_args_json_and_checkpoints(tmp_path, capsys):
    out = scene_run(tmp_path)
    args_before, ckpt_before = (out / "args.json").read_text(), (out / "checkpoint_last.pth").read_bytes()
    data = npy_set(tmp_path / "data", {c: [(8, 8)] * 4 for c in "abc"}, {"b/9.npy": b"garbage"})
    line = one_line_error(capsys, lambda: SCENE.main([*TINY, "--data-root", str(data), "--output", str(out),
                                                      "--epochs", "2", "--resume", "auto", "--workers", "2"]))
    # with two DataLoader workers the reader's DataError still reaches the user as its own one line
    assert "9.npy" in line or "does not fit" in line
    assert (out / "args.json").read_text() == args_before
    assert (out / "checkpoint_last.pth").read_bytes() == ckpt_before


def test_dataerror_inside_a_dataloader_worker_is_one_line(tmp_path, capsys):
    data = npy_set(tmp_path / "data", {c: [(8, 8)] * 6 for c in "ab"}, {"b/9.npy": b"garbage"})
    (data / "train.txt").write_text("".join(f"{c}/{i}.npy {k}\n" for k, c in enumerate("ab") for i in range(6))
                                    + "b/9.npy 1\n")
    (data / "classes.txt").write_text("a\nb\n")
    (data / "val.txt").write_text("a/0.npy 0\nb/0.npy 1\n")
    line = one_line_error(capsys, lambda: SCENE.main([*TINY, "--data-root", str(data), "--output",
                                                      str(tmp_path / "run"), "--workers", "2", "--batch-size", "4"]))
    assert "9.npy" in line and "DataLoader worker" not in line


def test_disk_full_during_a_checkpoint_write_is_one_line_and_leaves_no_tmp(tmp_path, capsys, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full)
    out = tmp_path / "full_disk"
    line = one_line_error(capsys, lambda: SCENE.main([*TINY, "--output", str(out)]))
    assert "No space left on device" in line
    assert not list(out.glob(".*.tmp*")) and not list(out.glob("checkpoint*"))


def test_extending_a_finished_steplr_run_with_more_epochs_works(tmp_path):
    out = tmp_path / "target"
    TARGET_TRAIN.main([*TARGET, "--output", str(out)])
    TARGET_TRAIN.main([*TARGET, "--output", str(out), "--epochs", "2", "--resume", "auto"])
    from sarhub.checkpoints import load_checkpoint

    state = load_checkpoint(out / "checkpoint_last.pth")
    assert state["epoch"] == 2 and [row["epoch"] for row in state["history"]] == [1, 2]


def test_extending_a_onecycle_run_says_exactly_why_not(tmp_path, capsys):
    out = scene_run(tmp_path)
    line = one_line_error(capsys, lambda: SCENE.main([*TINY, "--output", str(out), "--epochs", "2",
                                                      "--resume", "auto"]))
    assert "OneCycleLR" in line and "1 epochs" in line and "--weights" in line


def test_resuming_a_complete_run_changes_nothing(tmp_path, capsys):
    out = scene_run(tmp_path)
    before = (out / "checkpoint_last.pth").read_bytes()
    SCENE.main([*TINY, "--output", str(out), "--resume", "auto"])
    assert "already complete" in capsys.readouterr().out
    assert (out / "checkpoint_last.pth").read_bytes() == before


# --- degenerate settings, refused at parse time ----------------------------------------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["--epochs", "-1"], "--epochs -1 must be at least 1"),
    (["--batch-size", "0"], "--batch-size 0 must be at least 1"),
    (["--lr", "-0.1"], "--lr -0.1 must be a positive number"),
    (["--lr", "nan"], "--lr nan must be a positive number"),
    (["--img-size", "4"], "--img-size 4 must be between 16 and 4096"),
    (["--eval-every", "0"], "--eval-every 0 must be at least 1"),
    (["--model", "resnet7"], "unknown backbone 'resnet7'"),
    (["--overwrite", "--resume", "auto"], "contradict"),
    (["--split-file", "training=x.txt"], "expected train=PATH"),
])
def test_scene_settings_refused_in_one_line(tmp_path, capsys, argv, message):
    line = one_line_error(capsys, lambda: SCENE.main([*TINY, "--output", str(tmp_path / "r"), *argv]))
    assert message in line
    assert not (tmp_path / "r").exists()  # refused before any file was written


def test_eval_interval_zero_is_refused_by_every_common_parser(capsys):
    parser = common_parser("x")
    parser.add_argument("--eval-interval", type=int, default=100)
    line = one_line_error(capsys, lambda: parse_args(parser, ["--eval-interval", "0"]))
    assert "--eval-interval 0 must be at least 1" in line


def test_mim_image_size_not_a_multiple_of_the_patch_is_refused(tmp_path, capsys):
    line = one_line_error(capsys, lambda: MIM.main(["--img-size", "40", "--patch-size", "16",
                                                    "--output", str(tmp_path / "m")]))
    assert "not a multiple of --patch-size 16" in line


def test_mim_pool_smaller_than_a_batch_refuses_zero_steps(tmp_path, capsys):
    pool = tmp_path / "pool"
    pool.mkdir()
    for i in range(3):
        np.save(pool / f"{i}.npy", np.random.default_rng(i).random((32, 32)).astype(np.float32))
    out = tmp_path / "m"
    line = one_line_error(capsys, lambda: MIM.main(["--data", str(pool), "--img-size", "32", "--patch-size", "16",
                                                    "--encoder", "vit_tiny", "--batch-size", "64", "--epochs", "1",
                                                    "--workers", "0", "--output", str(out)]))
    assert "zero optimiser steps" in line
    assert not (out / "encoder.safetensors").exists()


def test_byol_data_root_that_is_not_the_shared_data_folder_is_one_line(tmp_path, capsys):
    (tmp_path / "not_shared").mkdir()
    line = one_line_error(capsys, lambda: BYOL.main(["--data-root", str(tmp_path / "not_shared"),
                                                     "--output", str(tmp_path / "byol")]))
    assert "s1s2_pairs/sar: folder not found" in line
    assert not (tmp_path / "byol").exists()


@pytest.mark.parametrize("shots, message", [("0", "at least 1"), ("99", "exceeds the 4 training chips")])
def test_fewshot_impossible_shot_counts_are_refused(tmp_path, capsys, shots, message):
    root = mstar_set(tmp_path / "mstar", ("A", "B"), ("A", "B"), n=4)
    line = one_line_error(capsys, lambda: FEWSHOT.main(["--random-init", "--encoder", "vit_tiny", "--img-size", "32",
                                                        "--data-root", str(root), "--shots", shots, "--seeds", "1",
                                                        "--results", str(tmp_path / "res")]))
    assert message in line
    assert not (tmp_path / "res.csv").exists()


# --- label maps follow the training classes ---------------------------------------------------------------------------

def test_mstar_test_labels_follow_training_a_missing_class_is_fine_an_extra_one_is_named(tmp_path):
    from sarhub.data.targets import MSTARDataset

    root = mstar_set(tmp_path / "m", ("A", "B", "C"), ("A", "C"))
    train = MSTARDataset(root, "train", crop=32)
    test = MSTARDataset(root, "test", crop=32, classes=train.classes)
    assert sorted({label for _, label in test.items}) == [0, 2]  # C keeps label 2 though B is missing
    extra = mstar_set(tmp_path / "e", ("A", "B"), ("A", "B", "Z"))
    with pytest.raises(DataError, match="class Z is not one of the training classes"):
        MSTARDataset(extra, "test", crop=32, classes=MSTARDataset(extra, "train", crop=32).classes)


def test_scene_validation_labels_use_the_training_class_list(tmp_path):
    from sarhub.data.scene import SceneDataset

    data = npy_set(tmp_path / "d", {c: [(8, 8)] * 2 for c in "abc"})
    (data / "train.txt").write_text("a/0.npy 0\nb/0.npy 1\nc/0.npy 2\n")
    (data / "val.txt").write_text("a/1.npy 0\nc/1.npy 5\n")
    train = SceneDataset(data, "train", num_classes=3)
    with pytest.raises(DataError, match="label 5 outside the 3 training classes"):
        SceneDataset(data, "val", classes=train.classes)


# --- readers: finiteness and malformed files ----------------------------------------------------------------------------

def test_nan_pixel_in_an_image_file_chip_is_an_error_not_a_zero_chip(tmp_path):
    from sarhub.data.targets import read_mstar_chip

    chip = np.ones((40, 40), np.float32)
    chip[3, 3] = np.nan
    tifffile.imwrite(tmp_path / "chip.tif", chip)
    with pytest.raises(DataError, match="chip.tif: contains 1 NaN/inf"):
        read_mstar_chip(tmp_path / "chip.tif", 32)


def test_npz_renamed_npy_is_named(tmp_path):
    from sarhub.data.imageio import read_raster

    np.savez(tmp_path / "x.npz", a=np.zeros((4, 4)))
    os.rename(tmp_path / "x.npz", tmp_path / "x.npy")
    with pytest.raises(DataError, match="x.npy: is an .npz archive"):
        read_raster(tmp_path / "x.npy")


def test_mixed_one_and_three_channel_set_is_one_line(tmp_path, capsys):
    # the authors' .npy layout keeps its channels (a class-folder set, --dataset folder, reads every image as grey)
    data = npy_set(tmp_path / "d", {"a": [(8, 8)] * 4, "b": [(8, 8)] * 3 + [(3, 8, 8)]})
    line = one_line_error(capsys, lambda: SCENE.main([*TINY, "--data-root", str(data), "--dataset", "OSU",
                                                      "--output", str(tmp_path / "r"), "--batch-size", "2"]))
    assert "channel" in line


def test_class_of_classes_txt_without_a_folder_is_one_line(tmp_path, capsys):
    data = npy_set(tmp_path / "d", {c: [(8, 8)] * 4 for c in "ab"})
    (data / "classes.txt").write_text("a\nb\nc\n")
    line = one_line_error(capsys, lambda: SCENE.main([*TINY, "--data-root", str(data), "--dataset", "folder",
                                                      "--output", str(tmp_path / "r")]))
    assert "class 'c' of classes.txt has no folder" in line


def test_split_files_go_to_the_run_folder_never_into_the_data_root(tmp_path):
    data = npy_set(tmp_path / "d", {c: [(8, 8)] * 6 for c in "ab"})
    before = sorted(p.relative_to(data) for p in data.rglob("*"))
    out = tmp_path / "r"
    SCENE.main([*TINY, "--data-root", str(data), "--dataset", "folder", "--output", str(out), "--batch-size", "2"])
    assert sorted(p.relative_to(data) for p in data.rglob("*")) == before
    assert {"train.txt", "val.txt", "test.txt", "classes.txt"} <= {p.name for p in out.iterdir()}


def test_authors_list_format_with_bare_file_names_is_read(tmp_path):
    """The authors' BEN/OSU lists: '<file>.npy <label or l1,l2,…>' with the bare file name of a nested file."""
    from sarhub.data.scene import SceneDataset

    data = npy_set(tmp_path / "d", {"x": [(8, 8)] * 2})
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "osu_train.txt").write_text("0.npy 3\n1.npy 1,4\n")
    ds = SceneDataset(data, "train", split_file=lists / "osu_train.txt", num_classes=10)
    assert ds.items == [("x/0.npy", 3), ("x/1.npy", (1, 4))] and ds.num_classes == 10


@pytest.mark.parametrize("field, value, message", [
    ("NumberOfRows", "-128", "impossible sizes"),
    ("native_header_length", "abc", "lacks a valid size field"),
])
def test_phoenix_header_with_bad_sizes_is_named(tmp_path, field, value, message):
    from sarhub.data.synthetic.targets import write_phoenix
    from sarhub.data.targets import read_phoenix

    path = tmp_path / "chip.raw"
    write_phoenix(path, np.ones((8, 8), np.float32), header_fields={field: value})
    with pytest.raises(DataError, match=message):
        read_phoenix(path)


def test_land_cover_codes_outside_the_scheme_are_errors_not_water():
    from sarhub.data.sen12ms import IGNORE_INDEX, to_labels

    lc = np.stack([np.array([[17, 255]], np.uint8)] + [np.zeros((1, 2), np.uint8)] * 3, axis=-1)
    assert to_labels(lc, "lc").tolist() == [[9, IGNORE_INDEX]]  # 17 is water, 255 no-data
    lc[0, 1, 0] = 200
    with pytest.raises(DataError, match="land-cover code 200"):
        to_labels(lc, "lc")


def test_s1_s2_size_mismatch_is_named(tmp_path):
    from sarhub.data.sen12ms import SEN12MSDataset, partner_path
    from sarhub.data.synthetic.sar_optical import write_sen12ms

    root = write_sen12ms(tmp_path / "s", n_patches=1, size=32)
    ds = SEN12MSDataset(root)
    s2 = partner_path(ds.s1_files[0], "s2")
    tifffile.imwrite(s2, np.zeros((16, 16, 13), np.uint16))
    with pytest.raises(DataError, match="partners differ in size"):
        ds[0]


# --- cached statistics --------------------------------------------------------------------------------------------------

def test_norm_stats_are_rebuilt_when_data_or_settings_change(tmp_path):
    from sarhub.classification import Preprocess, cached_normalisation_stats
    from sarhub.data.scene import SceneDataset
    from sarhub.drae import DRAEConfig

    data = npy_set(tmp_path / "d", {c: [(8, 8)] * 3 for c in "ab"})
    ds = SceneDataset(data, "train", split_dir=tmp_path / "splits")
    path = tmp_path / "norm_stats.json"
    plain = Preprocess(DRAEConfig(), [0.0], [1.0])
    first = cached_normalisation_stats(path, ds, plain)
    assert cached_normalisation_stats(path, ds, plain) == first
    logged = Preprocess(DRAEConfig(), [0.0], [1.0], log_scale=1000.0)
    assert cached_normalisation_stats(path, ds, logged) != first  # other settings: rebuilt, not reused
    path.write_text(json.dumps({"mean": [float("nan")], "std": [1.0]}))  # an old file without a fingerprint
    assert cached_normalisation_stats(path, ds, plain) == first


def test_inf_in_training_images_never_reaches_norm_stats(tmp_path):
    data = npy_set(tmp_path / "d", {c: [(8, 8)] * 3 for c in "ab"})
    bad = np.ones((8, 8), np.float32)
    bad[0, 0] = np.inf
    np.save(data / "a" / "0.npy", bad)
    from sarhub.data.scene import SceneDataset

    (data / "train.txt").write_text("a/0.npy 0\nb/0.npy 1\n")
    (data / "classes.txt").write_text("a\nb\n")
    with pytest.raises(DataError, match="0.npy: contains 1 NaN/inf"):
        SceneDataset(data, "train")[0]


# --- checkpoints ----------------------------------------------------------------------------------------------------------

def test_resuming_a_model_only_checkpoint_is_one_line(tmp_path, capsys):
    out = scene_run(tmp_path)
    from sarhub.checkpoints import load_checkpoint, save_checkpoint

    weights = tmp_path / "weights.pth"
    save_checkpoint({"model": load_checkpoint(out / "checkpoint_last.pth")["model"]}, weights)
    line = one_line_error(capsys, lambda: SCENE.main([*TINY, "--output", str(tmp_path / "new"), "--epochs", "2",
                                                      "--resume", str(weights)]))
    assert "cannot be resumed" in line and "--weights" in line


def test_resuming_a_checkpoint_of_another_task_is_one_line(tmp_path, capsys):
    target = tmp_path / "target"
    TARGET_TRAIN.main([*TARGET, "--output", str(target)])
    out = tmp_path / "scene_other"
    line = one_line_error(capsys, lambda: SCENE.main([*TINY, "--output", str(out), "--epochs", "2", "--sim-classes",
                                                      "4", "--resume", str(target / "checkpoint_last.pth")]))
    assert "does not fit this model/dataset" in line or "does not fit this run" in line


def test_nan_weights_are_never_scored(tmp_path, capsys):
    out = scene_run(tmp_path)
    from sarhub.checkpoints import load_checkpoint, save_checkpoint

    state = load_checkpoint(out / "checkpoint_last.pth")
    state["model"]["fc.weight"][0, 0] = float("nan")
    save_checkpoint(state, tmp_path / "nan.pth")
    line = one_line_error(capsys, lambda: SCENE_TEST.main(["--checkpoint", str(tmp_path / "nan.pth"),
                                                           "--no-append", "--workers", "0"]))
    assert "NaN/inf" in line and "fc.weight" in line


def test_kp_explain_on_a_non_classifier_checkpoint_and_grid_zero(tmp_path, capsys):
    from sarhub.checkpoints import save_checkpoint

    save_checkpoint({"model": {"w": torch.zeros(1)}, "args": {"num_classes": 1, "model": "resnet18"}},
                    tmp_path / "det.pth")
    line = one_line_error(capsys, lambda: EXPLAIN.main(["--checkpoint", f"d={tmp_path / 'det.pth'}",
                                                        "--output", str(tmp_path / "kp")]))
    assert "not a classifier checkpoint" in line
    line = one_line_error(capsys, lambda: EXPLAIN.main(["--grid", "0", "--checkpoint", "x=y.pth"]))
    assert "--grid 0 must be at least 1" in line


def test_resuming_a_checkpoint_beyond_the_requested_epochs_is_one_line(tmp_path, capsys):
    out = scene_run(tmp_path, "--epochs", "2")
    line = one_line_error(capsys, lambda: SCENE.main([*TINY, "--output", str(out), "--resume", "auto"]))
    assert "is at epoch 2, beyond --epochs 1" in line


def test_target_test_refuses_a_training_folder_whose_classes_changed(tmp_path, capsys):
    root = mstar_set(tmp_path / "m", ("A", "B"), ("A", "B"), n=4)
    out = tmp_path / "t"
    TARGET_TRAIN.main([*TARGET, "--data-root", str(root), "--output", str(out), "--batch-size", "4"])
    mstar_set(root, ("A", "AA", "B"), (), n=4)  # a class folder appears in train/: every label after it shifts
    target_test = script("target_recognition", "test")
    line = one_line_error(capsys, lambda: target_test.main(["--checkpoint", str(out / "checkpoint_last.pth"),
                                                            "--no-append"]))
    assert "its training classes are now A, AA, B, the checkpoint learned A, B" in line


def test_nan_initial_weights_are_refused(tmp_path, capsys):
    from sarhub import create_model

    state = create_model("resnet18", num_classes=3, in_chans=1).state_dict()
    state["conv1.weight"][0, 0, 0, 0] = float("nan")
    torch.save(state, tmp_path / "nan_weights.pth")
    line = one_line_error(capsys, lambda: SCENE.main([*TINY, "--output", str(tmp_path / "r"), "--weights",
                                                      str(tmp_path / "nan_weights.pth")]))
    assert "NaN/inf" in line


def test_overwrite_that_fails_before_its_first_checkpoint_keeps_the_old_run(tmp_path, capsys):
    out = scene_run(tmp_path)
    before = (out / "checkpoint_last.pth").read_bytes()
    data = npy_set(tmp_path / "data", {c: [(8, 8)] * 4 for c in "ab"}, {"b/9.npy": b"garbage"})
    one_line_error(capsys, lambda: SCENE.main([*TINY, "--data-root", str(data), "--dataset", "folder",
                                               "--output", str(out), "--overwrite", "--batch-size", "2"]))
    assert (out / "checkpoint_last.pth").read_bytes() == before


def test_split_files_of_other_data_in_the_run_folder_are_redrawn(tmp_path):
    from sarhub.data.scene import SceneDataset

    first = npy_set(tmp_path / "one", {c: [(8, 8)] * 4 for c in "ab"})
    second = npy_set(tmp_path / "two", {c: [(8, 8)] * 4 for c in "xyz"})
    splits = tmp_path / "run"
    assert SceneDataset(first, "train", split_dir=splits).classes == ["a", "b"]
    ds = SceneDataset(second, "train", split_dir=splits)
    assert ds.classes == ["x", "y", "z"] and all(rel[0] in "xyz" for rel, _ in ds.items)
