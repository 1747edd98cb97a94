"""Bad weights and checkpoints (issue 26): never scored, never loaded by running code, one line without warnings."""
from __future__ import annotations

import pickle

import torch
from helpers.inputs import TARGET, TINY, one_line_error, script

from sarhub.checkpoints import load_checkpoint, save_checkpoint

SCENE = script("SAR_scene_classification", "train")
SCENE_TEST = script("SAR_scene_classification", "test")
EXPLAIN = script("knowledge_point", "explain")


def test_nan_weights_are_never_scored(finished_scene, tmp_path, capsys):
    state = load_checkpoint(finished_scene / "checkpoint_last.pth")
    state["model"]["fc.weight"][0, 0] = float("nan")
    save_checkpoint(state, tmp_path / "nan.pth")
    line = one_line_error(capsys, lambda: SCENE_TEST.main(["--checkpoint", str(tmp_path / "nan.pth"), "--no-append",
                                                           "--workers", "0"]))
    assert "NaN/inf" in line and "fc.weight" in line


def test_nan_initial_weights_are_refused(tmp_path, capsys):
    from sarhub import create_model

    state = create_model("resnet18", num_classes=3, in_chans=1).state_dict()
    state["conv1.weight"][0, 0, 0, 0] = float("nan")
    torch.save(state, tmp_path / "nan_weights.pth")
    line = one_line_error(capsys, lambda: SCENE.main([*TINY, "--output", str(tmp_path / "r"), "--weights",
                                                      str(tmp_path / "nan_weights.pth")]))
    assert "NaN/inf" in line


class _Exploit:
    def __reduce__(self):
        return (print, ("pickle code ran",))


def test_a_raw_pickle_is_refused_in_one_line_without_torch_warnings(tmp_path, capsys):
    path = tmp_path / "evil.pth"
    with open(path, "wb") as handle:
        pickle.dump({"model": _Exploit()}, handle, protocol=4)
    for action in (lambda: SCENE.main([*TINY, "--output", str(tmp_path / "r"), "--weights", str(path)]),
                   lambda: SCENE_TEST.main(["--checkpoint", str(path), "--no-append"])):
        line = one_line_error(capsys, action)
        assert "evil.pth" in line and "pickle code ran" not in capsys.readouterr().out


def test_another_tasks_checkpoint_is_named_as_such(tmp_path, capsys):
    target = tmp_path / "target"
    script("target_recognition", "train").main([*TARGET, "--output", str(target)])
    line = one_line_error(capsys, lambda: SCENE_TEST.main(["--checkpoint", str(target / "checkpoint_last.pth"),
                                                           "--no-append"]))
    assert "not a SAR_scene_classification run" in line and "target_recognition" in line


def test_kp_explain_on_a_non_classifier_checkpoint_and_grid_zero(tmp_path, capsys):
    save_checkpoint({"model": {"w": torch.zeros(1)}, "args": {"num_classes": 1, "model": "resnet18"}},
                    tmp_path / "det.pth")
    line = one_line_error(capsys, lambda: EXPLAIN.main(["--checkpoint", f"d={tmp_path / 'det.pth'}",
                                                        "--output", str(tmp_path / "kp")]))
    assert "not a classifier checkpoint" in line
    line = one_line_error(capsys, lambda: EXPLAIN.main(["--grid", "0", "--checkpoint", "x=y.pth"]))
    assert "grid: 0 must be at least 1" in line
