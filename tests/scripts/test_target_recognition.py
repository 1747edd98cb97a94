"""target_recognition/train.py and test.py on tiny simulated MSTAR chips: a random-crop, per-image-normalised run
scored by test.py as training scored it, and an impossible crop refused in one line."""
import sys

import pytest
from helpers.scripts import run_script

from sarhub.checkpoints import load_checkpoint

TINY = ["--sim-per-class", "4", "--img-size", "32", "--batch-size", "8", "--workers", "0", "--model", "resnet18"]


def run(args, tmp_path, check=True):
    return run_script("target_recognition", args, tmp_path, check)


@pytest.mark.slow
def test_random_crop_and_per_image_norm_are_rebuilt_by_test_py(tmp_path):
    out = tmp_path / "rc"
    run([sys.executable, "train.py", *TINY, "--epochs", "1", "--random-crop", "24", "--per-image-norm",
         "--output", str(out)], tmp_path)
    state = load_checkpoint(out / "checkpoint_last.pth")
    assert state["args"]["input_size"] == 24 and state["args"]["img_size"] == 32 and state["args"]["per_image_norm"]
    proc = run([sys.executable, "test.py", "--checkpoint", str(out / "checkpoint_last.pth"), "--no-append"], tmp_path)
    # test.py feeds the centre window through the same preprocessing, so it scores what training logged
    assert f"accuracy {state['history'][-1]['test_top1']:.2f} %" in proc.stdout


def test_random_crop_larger_than_the_image_is_refused(tmp_path):
    proc = run([sys.executable, "train.py", *TINY, "--random-crop", "40"], tmp_path, check=False)
    assert proc.returncode == 2 and "random_crop: 40 must not exceed img_size 32" in proc.stderr
