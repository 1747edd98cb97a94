"""target_recognition/train.py and test.py on tiny simulated MSTAR chips: subsets written, test scored every epoch,
several runs summarised, Table-6 row appended."""
import sys

import pytest
import torch
from helpers.scripts import run_script

from sarhub.checkpoints import load_checkpoint

TINY = ["--sim-per-class", "4", "--img-size", "32", "--batch-size", "8", "--workers", "0", "--model", "resnet18"]


def run(args, tmp_path, check=True):
    return run_script("target_recognition", args, tmp_path, check)


def test_translation_windows_random_in_training_centre_at_test():
    from sarhub.data.targets import translation_windows

    image = torch.arange(16 * 16, dtype=torch.float32).view(1, 16, 16)
    train_tf, test_tf = translation_windows(8)
    assert torch.equal(test_tf(image), image[:, 4:12, 4:12])
    torch.manual_seed(0)
    corners = set()
    for _ in range(20):
        window = train_tf(image)
        top, left = divmod(int(window[0, 0, 0]), 16)
        assert window.shape == (1, 8, 8) and torch.equal(window, image[:, top:top + 8, left:left + 8])
        corners.add((top, left))
    assert len(corners) > 5  # the window moves
    assert translation_windows(None) == (None, None)


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


def test_checkpoint_from_before_an_option_existed_gets_its_default(tmp_path):
    from sarhub.checkpoints import load_run
    from sarhub.errors import WeightsError
    from sarhub.pipelines.targets import TargetConfig

    torch.save({"args": {"fraction": 0.1}}, tmp_path / "old.pth")  # saved before "task" and random_crop existed
    cfg, _ = load_run(tmp_path / "old.pth", TargetConfig)
    assert cfg.data.fraction == 0.1 and cfg.data.random_crop is None
    torch.save({"args": {"crop_size": 512}}, tmp_path / "other.pth")
    with pytest.raises(WeightsError, match="not a target_recognition run"):
        load_run(tmp_path / "other.pth", TargetConfig)
