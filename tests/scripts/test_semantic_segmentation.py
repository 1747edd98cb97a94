"""semantic_segmentation/train.py and test.py end to end on tiny simulated tiles and an SSDD-layout COCO set, and bad
input in one line."""
import sys

import numpy as np
from helpers.scripts import run_script
from helpers.ssdd_fixture import write_ssdd_like
from PIL import Image

from sarhub.checkpoints import load_checkpoint

TINY = ["--sim-tiles", "10", "--crop-size", "64", "--batch-size", "2", "--workers", "0", "--eval-batch-size", "2"]


def run(args, tmp_path, check=True):
    return run_script("semantic_segmentation", args, tmp_path, check)


def test_mask_of_wrong_size_is_one_line_error(tmp_path):
    root = tmp_path / "folder"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(4):
        Image.fromarray(np.zeros((32, 32), np.uint8)).save(root / "images" / f"t{i}.png")
        size = (16, 16) if i == 2 else (32, 32)
        Image.fromarray(np.zeros(size, np.uint8)).save(root / "masks" / f"t{i}.png")
    proc = run([sys.executable, "train.py", "--dataset", "folder", "--data-root", str(root), *TINY,
                "--iterations", "2", "--eval-interval", "2", "--output", str(tmp_path / "o")], tmp_path, check=False)
    assert proc.returncode == 2 and "t2.png" in proc.stderr and "Traceback" not in proc.stderr


def test_ssdd_layout_trains_on_polygon_masks_and_tests_all_inshore_offshore(tmp_path):
    root = write_ssdd_like(tmp_path / "ssdd", n_train=10)
    out = tmp_path / "run"
    proc = run([sys.executable, "train.py", "--dataset", "ssdd", "--data-root", str(root), "--input-size", "32",
                "--crop-size", "32", "--img-size", "32", "--batch-size", "2", "--eval-batch-size", "2", "--workers",
                "0", "--iterations", "4", "--eval-interval", "2", "--val-fraction", "0.2", "--output", str(out)],
               tmp_path)
    assert "8 train / 2 val images" in proc.stdout and "classes ['background', 'ship']" in proc.stdout
    state = load_checkpoint(out / "checkpoint_last.pth")
    assert state["args"]["target"] == "ship" and state["args"]["num_classes"] == 2
    assert state["args"]["cat_max_ratio"] == 1.0  # configs/ssdd.yaml is the SSDD default
    assert {"cpa_ship", "miou", "mean_precision", "mean_recall"} <= set(state["history"][-1])
    results, figures = tmp_path / "results", tmp_path / "figures"
    proc = run([sys.executable, "test.py", "--checkpoint", str(out / "checkpoint_last.pth"), "--results",
                str(results), "--figures", str(figures), "--panel", "2", "--init", "TSX"], tmp_path)
    assert "ssdd inshore (2 images, 4 iterations): CPA-ship" in proc.stdout
    rows = results.with_suffix(".md").read_text().splitlines()[-3:]
    assert [r.split(" | ")[1:8] for r in rows] == [["TSX", "ssdd", "ship", subset, n, str(root), "4"]
                                                  for subset, n in (("all", "4"), ("inshore", "2"), ("offshore", "2"))]
    assert "53.04/64.48/74.42/74.74" in rows[0] and "53.04" not in rows[1]  # the paper's (SpaceNet6) row, once
    assert (figures / "panel_ssdd_resnet18_TSX.png").stat().st_size > 1000
    run([sys.executable, "test.py", "--checkpoint", str(out / "checkpoint_last.pth"), "--results", str(results),
         "--panel", "0", "--ann", str(root / "annotations" / "test.json"), "--image-dir", str(root / "JPEGImages"),
         "--subset", f"near={root / 'test_inshore.txt'}"], tmp_path)
    tail = results.with_suffix(".md").read_text().splitlines()[-2:]
    assert [r.split(" | ")[2:5] for r in tail] == [["test.json", "ship", "all"], ["test.json", "ship", "near"]]


def test_bad_polygon_is_one_line_error_naming_the_annotation(tmp_path):
    root = write_ssdd_like(tmp_path / "ssdd")
    path = root / "annotations" / "train.json"
    path.write_text(path.read_text().replace('"segmentation": [[', '"segmentation": [[1.5, ', 1))
    proc = run([sys.executable, "train.py", "--dataset", "ssdd", "--data-root", str(root), "--workers", "0",
                "--output", str(tmp_path / "o")], tmp_path, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "train.json: annotation id 1 (image 000001.jpg): polygon 0 has 9 coordinates" in proc.stderr
