"""The detection pipeline in-process on tiny simulated ship scenes: FCOS trained and scored (AP, AP50) each epoch
(bf16 autocast on the CPU, as the SSDD runs), then the test step's Table-7 row and detection panel."""
from pathlib import Path

from sarhub.checkpoints import load_checkpoint
from sarhub.pipelines import detection

CONFIGS = Path(__file__).resolve().parents[2] / "object_detection" / "configs"
TINY = ["--sim-train", "8", "--sim-test", "4", "--batch-size", "4", "--workers", "0", "--warmup-iters", "2"]


def test_train_and_test_on_simulated_ships(tmp_path, capsys):
    out = tmp_path / "run"
    detection.train(detection.parse([*TINY, "--epochs", "1", "--amp", "--output", str(out)], CONFIGS))
    state = load_checkpoint(out / "checkpoint_last.pth")
    assert {"AP", "AP50"} <= set(state["history"][0]) and state["args"]["clip_grad"] == 35.0
    detection.test(*detection.parse_test(["--checkpoint", str(out / "checkpoint_last.pth"), "--init", "TSX",
                                          "--results", str(tmp_path / "results"), "--images", "2"], tmp_path))
    assert "AP50" in capsys.readouterr().out and (out / "detections_test.png").stat().st_size > 1000
    assert "| resnet18 | TSX | simulated | all | 4 | simulator | 1 |" in (tmp_path / "results.md").read_text()
