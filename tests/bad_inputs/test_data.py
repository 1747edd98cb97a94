"""Bad data (issue 26): every malformed file, label or annotation is one line naming it, and only what was tested is
scored."""
from __future__ import annotations

import json
import re

from helpers.inputs import TARGET, TINY, mstar_set, npy_set, one_line_error, script

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
