"""Bad data (issue 26): every malformed file, label or annotation is one line naming it, and only what was tested is
scored."""
from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest
import tifffile
from helpers.inputs import TARGET, TINY, mstar_set, npy_set, one_line_error, script

from sarhub.errors import DataError

SCENE = script("SAR_scene_classification", "train")
TARGET_TRAIN = script("target_recognition", "train")
TARGET_TEST = script("target_recognition", "test")


def test_a_bad_file_in_a_dataloader_worker_is_one_line_and_keeps_the_run(finished_scene, tmp_path, capsys):
    args_before = (finished_scene / "args.json").read_text()
    ckpt_before = (finished_scene / "checkpoint_last.pth").read_bytes()
    data = npy_set(tmp_path / "data", {c: [(8, 8)] * 6 for c in "ab"}, {"b/9.npy": b"garbage"})
    (data / "train.txt").write_text("".join(f"{c}/{i}.npy {k}\n" for k, c in enumerate("ab") for i in range(6))
                                    + "b/9.npy 1\n")
    (data / "classes.txt").write_text("a\nb\n")
    (data / "val.txt").write_text("a/0.npy 0\nb/0.npy 1\n")
    line = one_line_error(capsys, lambda: SCENE.main([*TINY, "--data-root", str(data), "--output",
                                                      str(tmp_path / "run"), "--workers", "2", "--batch-size", "4"]))
    assert "9.npy" in line and "DataLoader worker" not in line
    assert (finished_scene / "args.json").read_text() == args_before
    assert (finished_scene / "checkpoint_last.pth").read_bytes() == ckpt_before


def test_mixed_one_and_three_channel_set_is_one_line(tmp_path, capsys):
    # the authors' .npy layout keeps its channels (a class-folder set, --dataset folder, reads every image as grey)
    data = npy_set(tmp_path / "d", {"a": [(8, 8)] * 4, "b": [(8, 8)] * 3 + [(3, 8, 8)]})
    line = one_line_error(capsys, lambda: SCENE.main([*TINY, "--data-root", str(data), "--dataset", "OSU",
                                                      "--output", str(tmp_path / "r"), "--batch-size", "2"]))
    assert "channel" in line


def test_mstar_test_labels_follow_training_a_missing_class_is_fine_an_extra_one_is_named(tmp_path):
    from sarhub.data.targets import MSTARDataset

    root = mstar_set(tmp_path / "m", ("A", "B", "C"), ("A", "C"))
    train = MSTARDataset(root, "train", crop=32)
    test = MSTARDataset(root, "test", crop=32, classes=train.classes)
    assert sorted({label for _, label in test.items}) == [0, 2]  # C keeps label 2 though B is missing
    extra = mstar_set(tmp_path / "e", ("A", "B"), ("A", "B", "Z"))
    with pytest.raises(DataError, match="class Z is not one of the training classes"):
        MSTARDataset(extra, "test", crop=32, classes=MSTARDataset(extra, "train", crop=32).classes)


def test_a_class_absent_from_the_test_set_is_reported_absent_not_zero(tmp_path, capsys):
    root = mstar_set(tmp_path / "m", ("A", "B", "C"), ("A", "C"), n=4)
    out = tmp_path / "t"
    TARGET_TRAIN.main([*TARGET, "--data-root", str(root), "--output", str(out), "--batch-size", "4"])
    TARGET_TEST.main(["--checkpoint", str(out / "checkpoint_last.pth"), "--no-append"])
    printed = capsys.readouterr().out
    assert re.search(r"B\s+absent from the test set", printed) and not re.search(r"B\s+0.00 %", printed)


def test_target_test_refuses_a_training_folder_whose_classes_changed(tmp_path, capsys):
    root = mstar_set(tmp_path / "m", ("A", "B"), ("A", "B"), n=4)
    out = tmp_path / "t"
    TARGET_TRAIN.main([*TARGET, "--data-root", str(root), "--output", str(out), "--batch-size", "4"])
    mstar_set(root, ("A", "AA", "B"), (), n=4)  # a class folder appears in train/: every label after it shifts
    line = one_line_error(capsys, lambda: TARGET_TEST.main(["--checkpoint", str(out / "checkpoint_last.pth"),
                                                            "--no-append"]))
    assert "its training classes are now A, AA, B, the checkpoint learned A, B" in line


def test_detection_test_categories_must_be_the_training_ones(tmp_path, capsys):
    from helpers.ssdd_fixture import write_ssdd_like

    root = write_ssdd_like(tmp_path / "ssdd", n_train=4, n_test=2)
    out = tmp_path / "det"
    detection_train = script("object_detection", "train")
    detection_train.main(["--dataset", "ssdd", "--data-root", str(root), "--epochs", "1", "--min-size", "64",
                          "--max-size", "64", "--batch-size", "2", "--workers", "0", "--output", str(out)])
    test_json = root / "annotations" / "test.json"
    coco = json.loads(test_json.read_text())
    coco["categories"][0]["name"] = "iceberg"
    test_json.write_text(json.dumps(coco))
    line = one_line_error(capsys, lambda: script("object_detection", "test").main(
        ["--checkpoint", str(out / "checkpoint_last.pth"), "--no-append", "--images", "0"]))
    assert "iceberg" in line and "ship" in line


def test_class_of_classes_txt_without_a_folder_is_one_line(tmp_path, capsys):
    data = npy_set(tmp_path / "d", {c: [(8, 8)] * 4 for c in "ab"})
    (data / "classes.txt").write_text("a\nb\nc\n")
    line = one_line_error(capsys, lambda: SCENE.main([*TINY, "--data-root", str(data), "--dataset", "folder",
                                                      "--output", str(tmp_path / "r")]))
    assert "class 'c' of classes.txt has no folder" in line


def test_scene_validation_labels_use_the_training_class_list(tmp_path):
    from sarhub.data.scene import SceneDataset

    data = npy_set(tmp_path / "d", {c: [(8, 8)] * 2 for c in "abc"})
    (data / "train.txt").write_text("a/0.npy 0\nb/0.npy 1\nc/0.npy 2\n")
    (data / "val.txt").write_text("a/1.npy 0\nc/1.npy 5\n")
    train = SceneDataset(data, "train", num_classes=3)
    with pytest.raises(DataError, match="label 5 outside the 3 training classes"):
        SceneDataset(data, "val", classes=train.classes)


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


def test_norm_stats_are_rebuilt_when_data_or_settings_change(tmp_path):
    from sarhub.classification import cached_normalisation_stats
    from sarhub.data.scene import SceneDataset
    from sarhub.drae import DRAEConfig
    from sarhub.preprocess import Preprocess

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
    from sarhub.data.scene import SceneDataset

    data = npy_set(tmp_path / "d", {c: [(8, 8)] * 3 for c in "ab"})
    bad = np.ones((8, 8), np.float32)
    bad[0, 0] = np.inf
    np.save(data / "a" / "0.npy", bad)
    (data / "train.txt").write_text("a/0.npy 0\nb/0.npy 1\n")
    (data / "classes.txt").write_text("a\nb\n")
    with pytest.raises(DataError, match="0.npy: contains 1 NaN/inf"):
        SceneDataset(data, "train")[0]


def test_split_files_of_other_data_in_the_run_folder_are_redrawn(tmp_path):
    from sarhub.data.scene import SceneDataset

    first = npy_set(tmp_path / "one", {c: [(8, 8)] * 4 for c in "ab"})
    second = npy_set(tmp_path / "two", {c: [(8, 8)] * 4 for c in "xyz"})
    splits = tmp_path / "run"
    assert SceneDataset(first, "train", split_dir=splits).classes == ["a", "b"]
    ds = SceneDataset(second, "train", split_dir=splits)
    assert ds.classes == ["x", "y", "z"] and all(rel[0] in "xyz" for rel, _ in ds.items)
