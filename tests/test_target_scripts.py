"""target_recognition/train.py and test.py on tiny simulated MSTAR chips: subsets written, test scored every epoch,
several runs summarised, Table-6 row appended."""
import json
import sys

import pytest

from sarhub.engine import load_checkpoint
from scripts import run_script

TINY = ["--sim-per-class", "4", "--img-size", "32", "--batch-size", "8", "--workers", "0", "--model", "resnet18"]


def run(args, tmp_path, check=True):
    return run_script("target_recognition", args, tmp_path, check)


@pytest.mark.slow
def test_two_runs_on_a_subset_then_test(tmp_path):
    out = tmp_path / "mstar"
    proc = run([sys.executable, "train.py", *TINY, "--epochs", "2", "--fraction", "0.5", "--runs", "2",
                "--output", str(out)], tmp_path)
    assert "best-on-test (paper protocol)" in proc.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["runs"]) == 2 and summary["runs"][0]["train_images"] == 20  # floor(0.5·4) × 10 classes
    assert (out / "run0" / "mstar_train_50pct_seed0.txt").is_file()
    state = load_checkpoint(out / "run1" / "checkpoint_last.pth")
    assert state["args"]["seed"] == 1 and "test_top1" in state["history"][-1]
    proc = run([sys.executable, "test.py", "--checkpoint", str(out / "run0" / "checkpoint_last.pth"),
                "--results", str(tmp_path / "results"), "--init", "scratch"], tmp_path)
    assert "macro F1" in proc.stdout and (out / "run0" / "confusion_test.png").is_file()
    assert "| resnet18 | scratch | mstar-50 | simulator | 20 | 2 |" in (tmp_path / "results.md").read_text()
