"""`--seed` means the same run, and resume is exact, for every task with two DataLoader workers (issue 26): a run
of two epochs, and the same command interrupted after its first checkpoint and resumed, end with every tensor
equal; so the initial weights, heads, data order and augmentation all follow the seed."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from sarhub import engine
from sarhub.callbacks import Callback
from sarhub.checkpoints import load_checkpoint
from sarhub.cli import parse_config
from sarhub.data.synthetic.sar_optical import write_pairs
from sarhub.pipelines import byol, detection, fusion, mim, scene, segmentation, targets

CASES = {
    "targets": (targets.TargetConfig, targets.train, ["--sim-per-class", "3", "--img-size", "32", "--batch-size", "8",
                                                      "--random-crop", "28"], "--epochs"),
    "scene": (scene.SceneConfig, scene.train, ["--sim-classes", "3", "--sim-per-class", "8", "--img-size", "32",
                                               "--batch-size", "8", "--drae-method", "rd", "--drae-range", "3",
                                               "5"], "--epochs"),
    "detection": (detection.DetectionConfig, detection.train, ["--sim-train", "8", "--sim-test", "2", "--batch-size",
                                                               "4", "--min-size", "64", "--max-size", "64",
                                                               "--lr-steps", "9", "--warmup-iters", "1"], "--epochs"),
    "segmentation": (segmentation.SegmentationConfig, segmentation.train, ["--sim-tiles", "6", "--crop-size", "48",
                                                                          "--batch-size", "2", "--eval-interval",
                                                                          "2"], "--iterations"),
    "mim": (mim.MIMConfig, mim.pretrain, ["--encoder", "vit_tiny", "--img-size", "32", "--patch-size", "16",
                                          "--batch-size", "16", "--warmup-epochs", "1"], "--epochs"),
    "byol": (byol.BYOLConfig, byol.pretrain, ["--batch-size", "8", "--view-size", "32", "--tile-size", "32",
                                              "--sim-per-class", "6", "--hidden-dim", "32", "--proj-dim", "16"],
             "--epochs"),
    "fusion": (fusion.FusionConfig, fusion.pretrain, ["--strategy", "late", "--batch-size", "16", "--widths", "4", "8",
                                                      "16", "32", "--dim", "8", "--crop", "32", "--max-superpixels",
                                                      "32", "--patch", "64", "--test-fraction", "0.25"], "--epochs"),
}


def tiny_pool(root):
    """32 grey PNGs of 32 px: a pool small enough that the MIM case trains in seconds (the built-in simulator
    pool is hundreds of scenes)."""
    rng = np.random.default_rng(0)
    for i in range(32):
        (root / f"s{i % 4}").mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (32, 32), dtype=np.uint8)).save(root / f"s{i % 4}" / f"{i}.png")
    return ["--data-root", str(root)]


class Interrupt(Callback):
    """Ctrl-C right after the first epoch's checkpoint was written (the callbacks after the checkpointer run)."""

    def on_epoch_end(self, run, row) -> None:
        raise KeyboardInterrupt


@pytest.mark.parametrize("task", list(CASES))
def test_same_seed_same_run_and_exact_resume_with_two_workers(task, tmp_path, monkeypatch):
    config, train, tiny, length = CASES[task]
    command = [*tiny, "--workers", "2", "--seed", "3", length, "4" if length == "--iterations" else "2"]
    if task == "mim":
        command += tiny_pool(tmp_path / "pool")
    if task == "fusion":  # 8 real-layout pairs of 128 px, tiled into 64 px windows: 24 training windows
        command += ["--data-root", str(write_pairs(tmp_path / "pairs", n_fragments=8, size=128))]
    train(parse_config(config, [*command, "--output", str(tmp_path / "a")]))
    defaults = engine.default_callbacks
    with monkeypatch.context() as patch:
        patch.setattr(engine, "default_callbacks", lambda cfg: [*defaults(cfg), Interrupt()])
        with pytest.raises(KeyboardInterrupt):
            train(parse_config(config, [*command, "--output", str(tmp_path / "b")]))
    assert load_checkpoint(tmp_path / "b" / "checkpoint_last.pth")["epoch"] == 1
    train(parse_config(config, [*command, "--output", str(tmp_path / "b"), "--resume", "auto"]))
    a = load_checkpoint(tmp_path / "a" / "checkpoint_last.pth")["model"]
    b = load_checkpoint(tmp_path / "b" / "checkpoint_last.pth")["model"]
    differ = [k for k in a if not torch.equal(a[k], b[k])]
    assert a.keys() == b.keys() and differ == [], f"{len(differ)}/{len(a)} tensors differ, e.g. {differ[:3]}"
