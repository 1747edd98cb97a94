"""The detection pipeline in-process on tiny simulated ship scenes: FCOS trained and scored (AP, AP50) each epoch
(bf16 autocast on the CPU, as the SSDD runs), then the test step's Table-7 row and detection panel."""
from sarhub.checkpoints import load_checkpoint
from sarhub.cli import parse_config
from sarhub.pipelines import detection

TINY = ["--sim-train", "8", "--sim-test", "4", "--batch-size", "4", "--workers", "0", "--warmup-iters", "2"]


def test_train_and_test_on_simulated_ships(tmp_path, capsys):
    out = tmp_path / "run"
    detection.train(parse_config(detection.DetectionConfig, [*TINY, "--epochs", "1", "--amp", "--output", str(out)]))
    state = load_checkpoint(out / "checkpoint_last.pth")
    assert {"AP", "AP50"} <= set(state["history"][0]) and state["args"]["clip_grad"] == 35.0
    result = detection.test(parse_config(detection.DetectionTestConfig, [
        "--checkpoint", str(out / "checkpoint_last.pth"), "--init", "TSX", "--results", str(tmp_path / "results"),
        "--images", "2"]))
    assert set(result["all"]) >= {"AP", "AP50"} and len(result["groups"]["all"]) == 4
    assert "AP50" in capsys.readouterr().out and (out / "detections_test.png").stat().st_size > 1000
    assert "| resnet18 | TSX | simulated | all | 4 | simulator | 1 |" in (tmp_path / "results.md").read_text()
