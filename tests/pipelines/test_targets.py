"""The target-recognition pipeline in-process on tiny simulated MSTAR chips: a subset written per run, the test set
scored every epoch, several runs summarised, then the test step's Table-6 row and figures; the OpenSARShip config."""
import json

from sarhub.checkpoints import load_checkpoint
from sarhub.cli import config_from, parse_config
from sarhub.pipelines import targets
from sarhub.pipelines.targets import TargetConfig

TINY = ["--sim-per-class", "4", "--img-size", "32", "--batch-size", "8", "--workers", "0", "--model", "resnet18"]


def test_two_runs_on_a_subset_then_test(tmp_path, capsys):
    out = tmp_path / "mstar"
    targets.train(parse_config(targets.TargetConfig, [*TINY, "--epochs", "2", "--fraction", "0.5", "--runs", "2",
                                                      "--output", str(out)]))
    assert "best-on-test (paper protocol)" in capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["runs"]) == 2 and summary["runs"][0]["train_images"] == 20  # floor(0.5·4) × 10 classes
    assert (out / "run0" / "mstar_train_50pct_seed0.txt").is_file()
    state = load_checkpoint(out / "run1" / "checkpoint_last.pth")
    assert state["args"]["seed"] == 1 and "test_top1" in state["history"][-1]
    targets.test(parse_config(targets.TargetTestConfig, ["--checkpoint", str(out / "run0" / "checkpoint_last.pth"),
                                                         "--results", str(tmp_path / "results"), "--init", "scratch"]))
    assert "macro F1" in capsys.readouterr().out and (out / "run0" / "confusion_test.png").is_file()
    assert "| resnet18 | scratch | mstar-50 | simulator | 20 | 2 |" in (tmp_path / "results.md").read_text()


def test_opensarship_img_size_is_honoured(tmp_path):
    cfg = config_from(TargetConfig, {"dataset": "opensarship", "data_root": str(tmp_path), "scale": "medium",
                                     "img_size": 32})
    assert cfg.input.img_size == 32  # the reader resizes to it (tests/data/test_targets.py)
