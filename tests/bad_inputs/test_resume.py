"""Resume (issue 26): a resumed run is the run its args.json describes; what may change is listed (epochs where the
schedule allows, workers, evaluation and logging); every way a checkpoint cannot be resumed is one line."""
from __future__ import annotations

import json

from helpers.inputs import TARGET, TINY, files_of, one_line_error, script

from sarhub.checkpoints import load_checkpoint, save_checkpoint

SCENE = script("SAR_scene_classification", "train")
TARGET_TRAIN = script("target_recognition", "train")


def test_changed_settings_are_refused_naming_both_values(finished_scene, tmp_path, capsys):
    before = files_of(finished_scene)
    for extra, message in [(["--lr", "0.5"], "lr: 0.00025 → 0.5"), (["--batch-size", "2"], "batch_size: 8 → 2"),
                           (["--data-root", str(tmp_path)], "data_root: None → "),
                           (["--seed", "3"], "seed: 0 → 3"), (["--model", "resnet50"], "model: 'resnet18' → 'resnet50'")]:
        line = one_line_error(capsys, lambda: SCENE.main([*TINY, "--output", str(finished_scene), "--resume", "auto",
                                                          "--epochs", "1", *extra]))
        assert message in line and "accept_changes" in line, line
    assert files_of(finished_scene) == before


def test_optimiser_settings_never_change_on_resume(finished_scene, capsys):
    line = one_line_error(capsys, lambda: SCENE.main([*TINY, "--output", str(finished_scene), "--resume", "auto",
                                                      "--weight-decay", "0.1", "--accept-changes"]))
    assert "weight_decay: 0.05 → 0.1" in line and "optimiser state" in line


def test_what_may_change_on_resume_is_accepted(finished_scene, capsys):
    SCENE.main([*TINY, "--output", str(finished_scene), "--resume", "auto", "--workers", "1", "--eval-every", "2"])
    assert "already complete" in capsys.readouterr().out


def test_accepted_changes_are_recorded_and_args_json_holds_what_ran(tmp_path):
    out = tmp_path / "t"
    TARGET_TRAIN.main([*TARGET, "--output", str(out)])
    TARGET_TRAIN.main([*TARGET, "--output", str(out), "--epochs", "2", "--resume", "auto", "--lr", "0.02",
                       "--accept-changes"])
    args = json.loads((out / "args.json").read_text())
    assert args["lr"] == 0.02 and args["changes"] == [{"epoch": 1, "settings": ["lr: 0.01 → 0.02"]}]
    assert [round(row["lr"], 4) for row in json.loads((out / "log.json").read_text())][-1] == 0.02


def test_extending_a_finished_steplr_run_with_more_epochs_works(tmp_path):
    out = tmp_path / "target"
    TARGET_TRAIN.main([*TARGET, "--output", str(out)])
    TARGET_TRAIN.main([*TARGET, "--output", str(out), "--epochs", "2", "--resume", "auto"])
    state = load_checkpoint(out / "checkpoint_last.pth")
    assert state["epoch"] == 2 and [row["epoch"] for row in state["history"]] == [1, 2]


def test_extending_a_onecycle_run_says_exactly_why_not(finished_scene, capsys):
    line = one_line_error(capsys, lambda: SCENE.main([*TINY, "--output", str(finished_scene), "--epochs", "2",
                                                      "--resume", "auto"]))
    assert "OneCycleLR" in line and "1 epochs" in line and "weights" in line


def test_resuming_a_complete_run_changes_nothing(finished_scene, capsys):
    before = files_of(finished_scene)
    SCENE.main([*TINY, "--output", str(finished_scene), "--resume", "auto"])
    assert "already complete" in capsys.readouterr().out
    assert files_of(finished_scene) == before


def test_resuming_a_model_only_checkpoint_is_one_line(finished_scene, tmp_path, capsys):
    weights = tmp_path / "weights.pth"
    save_checkpoint({"model": load_checkpoint(finished_scene / "checkpoint_last.pth")["model"]}, weights)
    line = one_line_error(capsys, lambda: SCENE.main([*TINY, "--output", str(tmp_path / "new"), "--epochs", "2",
                                                      "--resume", str(weights)]))
    assert "cannot be resumed" in line and "--weights" in line


def test_resuming_a_checkpoint_of_another_task_is_one_line(tmp_path, capsys):
    target = tmp_path / "target"
    TARGET_TRAIN.main([*TARGET, "--output", str(target)])
    line = one_line_error(capsys, lambda: SCENE.main([*TINY, "--output", str(tmp_path / "scene"), "--epochs", "2",
                                                      "--sim-classes", "4", "--resume",
                                                      str(target / "checkpoint_last.pth")]))
    assert "target_recognition" in line and "SAR_scene_classification" in line


def test_resuming_a_checkpoint_beyond_the_requested_epochs_is_one_line(tmp_path, capsys):
    out = tmp_path / "scene"
    SCENE.main([*TINY, "--output", str(out), "--epochs", "2"])
    line = one_line_error(capsys, lambda: SCENE.main([*TINY, "--output", str(out), "--resume", "auto"]))
    assert "epochs: 1 is fewer than the 2 epochs" in line
