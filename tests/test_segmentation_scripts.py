"""semantic_segmentation/train.py and test.py end to end on tiny simulated tiles, and bad input in one line."""
import sys

import numpy as np
import pytest
from PIL import Image

from sarhub.engine import load_checkpoint
from scripts import run_script

TINY = ["--sim-tiles", "10", "--crop-size", "64", "--batch-size", "2", "--workers", "0", "--eval-batch-size", "2"]


def run(args, tmp_path, check=True):
    return run_script("semantic_segmentation", args, tmp_path, check)


@pytest.mark.slow
def test_train_then_test_writes_checkpoint_table_row_and_panel(tmp_path):
    out = tmp_path / "run"
    run([sys.executable, "train.py", *TINY, "--iterations", "4", "--eval-interval", "2", "--output", str(out)], tmp_path)
    state = load_checkpoint(out / "checkpoint_last.pth")
    assert state["epoch"] == 2 and state["args"]["output_stride"] == 8
    assert {"cpa_building", "miou", "mean_precision", "mean_recall"} <= set(state["history"][-1])
    results = tmp_path / "results"
    proc = run([sys.executable, "test.py", "--checkpoint", str(out / "checkpoint_last.pth"), "--panel", "2",
                "--results", str(results), "--init", "TSX"], tmp_path)
    assert "mIoU" in proc.stdout
    row = results.with_suffix(".md").read_text().splitlines()[-1]
    assert row.startswith("| resnet18 | TSX | simulator | 4 |") and "53.04/64.48/74.42/74.74" in row
    assert (out / "panel_test.png").stat().st_size > 1000


def test_mask_of_wrong_size_is_one_line_error(tmp_path):
    root = tmp_path / "folder"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(4):
        Image.fromarray(np.zeros((32, 32), np.uint8)).save(root / "images" / f"t{i}.png")
        size = (16, 16) if i == 2 else (32, 32)
        Image.fromarray(np.zeros(size, np.uint8)).save(root / "masks" / f"t{i}.png")
    proc = run([sys.executable, "train.py", "--dataset", "folder", "--data-root", str(root), *TINY,
                "--iterations", "2", "--eval-interval", "2", "--output", str(tmp_path / "o")], tmp_path, check=False)
    assert proc.returncode == 2 and "t2.png" in proc.stderr and "Traceback" not in proc.stderr
