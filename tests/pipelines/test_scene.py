"""The scene-classification pipeline in-process on tiny simulated TSX scenes: one epoch of pre-training, then the
test step's Table-2 γ test, results row and confusion figure."""
from pathlib import Path

from helpers.scripts import SCENE_TINY

from sarhub.checkpoints import load_checkpoint
from sarhub.pipelines import scene

CONFIGS = Path(__file__).resolve().parents[2] / "SAR_scene_classification" / "configs"


def test_train_then_gamma_test_appends_row(tmp_path, capsys):
    out = tmp_path / "run"
    history = scene.train(scene.parse([*SCENE_TINY, "--epochs", "1", "--output", str(out)], CONFIGS))
    assert len(history) == 1 and load_checkpoint(out / "checkpoint_last.pth")["args"]["loss"] == "minicbl"
    results = tmp_path / "results"
    scene.test(scene.test_parser(results).parse_args(["--checkpoint", str(out / "checkpoint_last.pth"), "--gamma",
                                                      "0.95,1.0,1.05", "--results", str(results), "--workers", "0"]))
    assert "variance of accuracy" in capsys.readouterr().out
    assert "| resnet18 | TSX | simulator |" in results.with_suffix(".md").read_text()
    assert (out / "confusion_test.png").stat().st_size > 1000
