"""knowledge_point/explain.py and cam.py end to end on a tiny classifier trained on simulated chips."""
import csv
import sys

import pytest
from helpers.scripts import run_script


@pytest.mark.slow
def test_explain_and_cam_write_counts_and_figures(tmp_path):
    ckpt = tmp_path / "clf" / "checkpoint_last.pth"
    run_script("target_recognition", [sys.executable, "train.py", "--sim-per-class", "4", "--img-size", "32",
                                      "--batch-size", "8", "--workers", "0", "--epochs", "2", "--save-every", "1",
                                      "--output", str(ckpt.parent)], tmp_path)
    out = tmp_path / "kp"
    proc = run_script("knowledge_point", [sys.executable, "explain.py", "--checkpoint", f"final={ckpt}",
                                          "--checkpoint", f"e1={ckpt.parent / 'checkpoint_epoch1.pth'}", "--grid", "4",
                                          "--num-images", "3", "--steps", "5", "--lr", "1e-2", "--output", str(out)],
                      tmp_path)
    assert "| final |" in proc.stdout
    rows = list(csv.DictReader(open(out / "kp_counts.csv")))
    assert len(rows) == 2 * 3 * 4 and {"target", "shadow", "clutter"} <= set(rows[0])
    for name in ("fig8_loss_curves.png", "fig9_counts_over_checkpoints.png", "fig10_counts_vs_b.png",
                 "kp_maps_final.png", "regions_preview.png", "summary.md"):
        assert (out / name).is_file(), name
    run_script("knowledge_point", [sys.executable, "cam.py", "--checkpoint", f"final={ckpt}", "--num-images", "2",
                                   "--output", str(tmp_path / "cam")], tmp_path)
    assert (tmp_path / "cam" / "cam_image1.png").is_file() and (tmp_path / "cam" / "stages_image0.png").is_file()
