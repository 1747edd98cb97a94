"""The scene-classification pipeline in-process on tiny simulated TSX scenes: one epoch of pre-training, then the
test step's Table-2 γ test, results row and confusion figure."""
from helpers.scripts import SCENE_TINY

from sarhub.checkpoints import load_checkpoint
from sarhub.cli import parse_config
from sarhub.pipelines import scene


def test_train_then_gamma_test_appends_row(tmp_path, capsys):
    out = tmp_path / "run"
    history = scene.train(parse_config(scene.SceneConfig, [*SCENE_TINY, "--epochs", "1", "--output", str(out)]))
    assert len(history) == 1 and load_checkpoint(out / "checkpoint_last.pth")["args"]["loss"] == "minicbl"
    results = tmp_path / "results"
    scene.test(parse_config(scene.SceneTestConfig, ["--checkpoint", str(out / "checkpoint_last.pth"), "--gamma",
                                                    "0.95,1.0,1.05", "--results", str(results), "--workers", "0"]))
    assert "variance of accuracy" in capsys.readouterr().out
    assert "| resnet18 | TSX | simulator |" in results.with_suffix(".md").read_text()
    assert (out / "confusion_test.png").stat().st_size > 1000
