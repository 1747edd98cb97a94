"""object_detection/train.py and test.py on tiny simulated ship scenes and on the real SAR-Ship chips; bad input."""
import sys

import pytest
from helpers.scripts import run_script
from helpers.ssdd_fixture import write_ssdd_like

from sarhub.checkpoints import load_checkpoint

TINY = ["--sim-train", "8", "--sim-test", "4", "--batch-size", "4", "--workers", "0", "--warmup-iters", "2"]


def run(args, tmp_path, check=True):
    return run_script("object_detection", args, tmp_path, check)


@pytest.mark.slow
def test_real_sar_ship_voc_chips_train(tmp_path, shared_data):
    out = tmp_path / "voc"
    run([sys.executable, "train.py", "--dataset", "sar-ship", "--data-root", str(shared_data / "sar_ship"),
         "--min-size", "128", "--max-size", "128", "--epochs", "1", "--batch-size", "4", "--workers", "0",
         "--output", str(out)], tmp_path)
    assert load_checkpoint(out / "checkpoint_last.pth")["epoch"] == 1


def test_corrupt_annotation_json_is_one_line_error(tmp_path):
    root = tmp_path / "hrsid"
    (root / "annotations").mkdir(parents=True)
    (root / "JPEGImages").mkdir()
    (root / "annotations" / "train2017.json").write_text("{not json")
    proc = run([sys.executable, "train.py", "--dataset", "hrsid", "--data-root", str(root), "--workers", "0",
                "--output", str(tmp_path / "o")], tmp_path, check=False)
    assert proc.returncode == 2 and "train2017.json" in proc.stderr and "Traceback" not in proc.stderr


def test_ssdd_layout_train_then_test_all_inshore_offshore_and_any_coco_set(tmp_path):
    root = write_ssdd_like(tmp_path / "ssdd")
    out = tmp_path / "run"
    run([sys.executable, "train.py", "--dataset", "ssdd", "--data-root", str(root), "--min-size", "64", "--max-size",
         "64", "--epochs", "2", "--save-every", "1", "--batch-size", "2", "--workers", "0", "--warmup-iters", "2",
         "--output", str(out)], tmp_path)
    state = load_checkpoint(out / "checkpoint_epoch1.pth")
    assert state["args"]["min_size"] == 64 and state["args"]["num_classes"] == 1
    assert state["args"]["classes"] == ["ship"]
    results = tmp_path / "results"
    proc = run([sys.executable, "test.py", "--checkpoint", str(out / "checkpoint_epoch1.pth"), "--results",
                str(results), "--images", "1"], tmp_path)
    assert "ssdd inshore (2 images, epoch 1)" in proc.stdout
    rows = results.with_suffix(".md").read_text().splitlines()[-3:]
    assert [r.split(" | ")[1:7] for r in rows] == [["scratch", "ssdd", subset, n, str(root), "1"]
                                                  for subset, n in (("all", "4"), ("inshore", "2"), ("offshore", "2"))]
    proc = run([sys.executable, "test.py", "--checkpoint", str(out / "checkpoint_last.pth"), "--results",
                str(results), "--images", "1", "--init", "TSX", "--ann", str(root / "annotations" / "train.json"),
                "--image-dir", str(root / "JPEGImages"), "--subset", f"few={root / 'test_inshore.txt'}"], tmp_path,
               check=False)  # the inshore list names test images, not training images
    assert proc.returncode == 2 and "test_inshore.txt: 2 listed image(s) are not in the split" in proc.stderr
    run([sys.executable, "test.py", "--checkpoint", str(out / "checkpoint_last.pth"), "--results", str(results),
         "--images", "1", "--init", "TSX", "--ann", str(root / "annotations" / "train.json"), "--image-dir",
         str(root / "JPEGImages")], tmp_path)
    row = results.with_suffix(".md").read_text().splitlines()[-1]
    assert row.startswith("| resnet18 | TSX | train.json | all | 6 |") and "| 2 |" in row
    proc = run([sys.executable, "test.py", "--checkpoint", str(out / "checkpoint_last.pth"), "--ann", "x.json"],
               tmp_path, check=False)
    assert proc.returncode == 2 and "image_dir: an ann set needs image_dir" in proc.stderr and "Traceback" not in proc.stderr
