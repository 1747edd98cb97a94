"""Bad settings (issue 26): refused before any file is touched, one line naming the setting, no usage block, and
every setting honoured or refused."""
from __future__ import annotations

import numpy as np
import pytest
from helpers.inputs import TINY, mstar_set, one_line_error, script

SCENE = script("SAR_scene_classification", "train")
MIM = script("self_supervised", "pretrain_mim")
FEWSHOT = script("self_supervised", "fewshot")
SEGMENTATION = script("semantic_segmentation", "train")


@pytest.mark.parametrize("argv, message", [
    (["--epochs", "-1"], "epochs: -1 must be at least 1"),
    (["--batch-size", "0"], "batch_size: 0 must be at least 1"),
    (["--lr", "-0.1"], "lr: -0.1 must be a positive number"),
    (["--lr", "nan"], "lr: nan must be a positive number"),
    (["--img-size", "4"], "img_size: 4 must be between 16 and 4096"),
    (["--eval-every", "0"], "eval_every: 0 must be at least 1"),
    (["--model", "resnet7"], "unknown backbone 'resnet7'"),
    (["--overwrite", "--resume", "auto"], "contradict"),
    (["--split-file", "training=x.txt"], "expected train=PATH"),
    (["--epochs", "1.5"], "expected an integer, got '1.5'"),
    (["--epoch", "3"], "unrecognized arguments: --epoch 3"),
])
def test_scene_settings_refused_in_one_line(tmp_path, capsys, argv, message):
    line = one_line_error(capsys, lambda: SCENE.main([*TINY, "--output", str(tmp_path / "r"), *argv]))
    assert message in line
    assert not (tmp_path / "r").exists()  # refused before any file was written


@pytest.mark.parametrize("text, message", [
    ("- a\n- b\n", "must be a mapping of settings"), ("epochs: [\n", "not valid YAML at line"),
    ("nonsense: 1\n", "unknown setting 'nonsense'"), ("epochs: three\n", "epochs: "),
    ("epochs: 1.5\n", "expected an integer, got 1.5"),
    ("label_smoothing: 2\n", "label_smoothing: "),
])
def test_bad_config_files_are_one_line_without_a_usage_block(tmp_path, capsys, text, message):
    (tmp_path / "c.yaml").write_text(text)
    line = one_line_error(capsys, lambda: SCENE.main([*TINY, "--config", str(tmp_path / "c.yaml"), "--output",
                                                      str(tmp_path / "r")]))
    assert message in line
    assert "not a recipe" in one_line_error(capsys, lambda: SCENE.main(["--config", str(tmp_path / "none.yaml")]))


def test_segmentation_iterations_are_honoured_or_refused(tmp_path, capsys):
    line = one_line_error(capsys, lambda: SEGMENTATION.main(["--iterations", "3", "--eval-interval", "2", "--output",
                                                             str(tmp_path / "s")]))
    assert "iterations: 3 must be a multiple of eval_interval 2" in line


def test_mim_image_size_not_a_multiple_of_the_patch_is_refused(tmp_path, capsys):
    line = one_line_error(capsys, lambda: MIM.main(["--img-size", "40", "--patch-size", "16",
                                                    "--output", str(tmp_path / "m")]))
    assert "img_size: 40 is not a multiple of patch_size 16" in line


def test_mim_pool_smaller_than_a_batch_refuses_zero_steps(tmp_path, capsys):
    pool = tmp_path / "pool"
    pool.mkdir()
    for i in range(3):
        np.save(pool / f"{i}.npy", np.random.default_rng(i).random((32, 32)).astype(np.float32))
    out = tmp_path / "m"
    line = one_line_error(capsys, lambda: MIM.main(["--data-root", str(pool), "--img-size", "32", "--patch-size",
                                                    "16", "--encoder", "vit_tiny", "--batch-size", "64", "--epochs",
                                                    "1", "--workers", "0", "--output", str(out)]))
    assert "zero optimiser steps" in line  # the pool of --data-root was read: 3 tiles, not the simulator's
    assert not (out / "encoder.safetensors").exists()


@pytest.mark.parametrize("shots, message", [("-1", "give one or more K ≥ 0"), ("99", "exceeds the 4 training chips")])
def test_fewshot_impossible_shot_counts_are_refused(tmp_path, capsys, shots, message):
    root = mstar_set(tmp_path / "mstar", ("A", "B"), ("A", "B"), n=4)
    line = one_line_error(capsys, lambda: FEWSHOT.main(["--encoder", "vit_tiny", "--img-size", "32",
                                                        "--data-root", str(root), "--shots", shots, "--draws", "1",
                                                        "--results", str(tmp_path / "res")]))
    assert message in line
    assert not (tmp_path / "res.csv").exists()
