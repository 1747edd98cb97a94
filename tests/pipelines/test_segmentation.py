"""The segmentation pipeline in-process on tiny simulated SpaceNet6 tiles: DeepLabV3 trained by iterations and
scored every interval (bf16 autocast on the CPU, as the SSDD runs), then the test step's Table-8 row (with the paper's
cell) and the prediction panel."""
from sarhub.checkpoints import load_checkpoint
from sarhub.cli import parse_config
from sarhub.pipelines import segmentation

TINY = ["--sim-tiles", "10", "--crop-size", "64", "--batch-size", "2", "--workers", "0", "--eval-batch-size", "2"]


def test_train_then_test_writes_checkpoint_table_row_and_panel(tmp_path, capsys):
    out = tmp_path / "run"
    segmentation.train(parse_config(segmentation.SegmentationConfig, [*TINY, "--iterations", "4", "--eval-interval",
                                                                       "2", "--amp", "--output", str(out)]))
    state = load_checkpoint(out / "checkpoint_last.pth")
    assert state["epoch"] == 2 and state["args"]["output_stride"] == 8
    assert {"cpa_building", "miou", "mean_precision", "mean_recall"} <= set(state["history"][-1])
    results = tmp_path / "results"
    result = segmentation.test(parse_config(segmentation.SegmentationTestConfig, [
        "--checkpoint", str(out / "checkpoint_last.pth"), "--panel", "2", "--results", str(results), "--init", "TSX"]))
    assert result["confusions"].shape == (3, 2, 2) and len(result["images"]) == 3
    assert "mIoU" in capsys.readouterr().out
    row = results.with_suffix(".md").read_text().splitlines()[-1]
    assert row.startswith("| resnet18 | TSX | spacenet6 | building | all | 3 | simulator | 4 |")
    assert "53.04/64.48/74.42/74.74" in row
    assert (out / "panel_test.png").stat().st_size > 1000
