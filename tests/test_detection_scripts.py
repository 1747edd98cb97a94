"""object_detection/train.py and test.py on tiny simulated ship scenes and on the real SAR-Ship chips; bad input."""
import sys

import pytest

from sarhub.engine import load_checkpoint
from scripts import run_script

TINY = ["--sim-train", "8", "--sim-test", "4", "--batch-size", "4", "--workers", "0", "--warmup-iters", "2"]


def run(args, tmp_path, check=True):
    return run_script("object_detection", args, tmp_path, check)


@pytest.mark.slow
def test_train_and_test_on_simulated_ships(tmp_path):
    out = tmp_path / "run"
    run([sys.executable, "train.py", *TINY, "--epochs", "1", "--output", str(out)], tmp_path)
    state = load_checkpoint(out / "checkpoint_last.pth")
    assert {"AP", "AP50"} <= set(state["history"][0]) and state["args"]["clip_grad"] == 35.0
    proc = run([sys.executable, "test.py", "--checkpoint", str(out / "checkpoint_last.pth"), "--init", "TSX",
                "--results", str(tmp_path / "results"), "--images", "2"], tmp_path)
    assert "AP50" in proc.stdout and (out / "detections_test.png").stat().st_size > 1000
    assert "| resnet18 | TSX | simulated | simulator | 1 |" in (tmp_path / "results.md").read_text()


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
