"""The three sar_optical scripts end to end (issue 10 on SEN12MS-layout patches, issue 27 on real-layout pairs)."""
import json
import sys

import pytest
from helpers.scripts import run_script

from sarhub.data.synthetic.sar_optical import write_pairs, write_sen12ms


@pytest.mark.slow
def test_pretrain_linear_eval_and_unsupervised_scripts_end_to_end(tmp_path):
    data = write_sen12ms(tmp_path / "data", n_patches=6, size=32, seed=0)
    out = tmp_path / "run"
    common = ["--data-root", str(data), "--test-fraction", "0.34"]
    run_script("sar_optical", [sys.executable, "pretrain.py", "--strategy", "intermediate", *common, "--epochs", "1",
                               "--batch-size", "2", "--crop", "24", "--widths", "8", "8", "16", "16", "--dim", "8",
                               "--workers", "0", "--output", str(out)], tmp_path)
    ckpt = out / "checkpoint_last.pth"
    assert ckpt.is_file() and (tmp_path / "cache" / "superpixels").is_dir()
    results = tmp_path / "results"
    proc = run_script("sar_optical", [sys.executable, "linear_eval.py", "--checkpoint", str(ckpt), *common,
                                      "--steps", "20", "--results", str(results / "linear")], tmp_path)
    assert "OA" in proc.stdout and (results / "confusion_intermediate.png").is_file()
    assert (results / "linear.md").read_text().count("| intermediate |") == 1
    proc = run_script("sar_optical", [sys.executable, "segment_unsupervised.py", "--checkpoint", str(ckpt), *common,
                                      "--steps", "5", "--results", str(results / "unsup")], tmp_path)
    table = (results / "unsup.md").read_text()
    assert "| Gumbel-softmax VQ |" in table and "| k-means |" in table
    assert (results / "unsupervised_intermediate.png").is_file()
    bad = run_script("sar_optical", [sys.executable, "linear_eval.py", "--checkpoint", str(data / "nothing.pth")],
                     tmp_path, check=False)
    assert bad.returncode == 2 and "nothing.pth" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.slow
def test_real_pair_layout_pretrain_retrieval_and_maps_end_to_end(tmp_path):
    """Issue 27 on a tiny fixture in the real sar/NNN.png + opt/NNN.jpg layout: pre-training (image-level-only
    baseline and the full objective), resumed with --resume auto, cross-modal retrieval with a random-init row and
    the label-free maps with their agreement table; a bad pair is one error line."""
    data = write_pairs(tmp_path / "pairs", n_fragments=5, size=64, seed=0)
    tiny = ["--data-root", str(data), "--config", "s1s2_pairs", "--patch", "32", "--crop", "24", "--batch-size", "4",
            "--widths", "8", "8", "16", "16", "--dim", "8", "--test-fraction", "0.4"]
    runs = {}
    for name, extra in (("late", []), ("late_image", ["--no-superpixel-contrast"])):
        runs[name] = tmp_path / name
        run_script("sar_optical", [sys.executable, "pretrain.py", "--strategy", "late", *tiny, *extra, "--epochs", "1",
                                   "--output", str(runs[name])], tmp_path)
    resumed = run_script("sar_optical", [sys.executable, "pretrain.py", "--strategy", "late", *tiny, "--epochs", "1",
                                         "--output", str(runs["late"]), "--resume", "auto"], tmp_path)
    assert "already complete" in resumed.stdout
    args = json.loads((runs["late"] / "args.json").read_text())
    assert args["sar_channels"] == 1 and args["optical_channels"] == 3 and len(args["input_stats"]["s2"][0]) == 3
    ckpts = [str(runs[n] / "checkpoint_last.pth") for n in runs]
    results = tmp_path / "results"
    run_script("sar_optical", [sys.executable, "retrieval.py", "--checkpoint", *ckpts, "--random-init",
                               "--results", str(results / "retrieval")], tmp_path)
    table = (results / "retrieval.md").read_text()
    assert table.count("| late fusion | pre-trained |") == 3 and table.count("| random init |") == 3
    assert table.count("| late fusion, image-level contrast only | pre-trained |") == 3
    assert "| 8 |" in table  # image level: N = the 2 held-out fragments × 4 windows
    proc = run_script("sar_optical", [sys.executable, "segment_unsupervised.py", "--checkpoint", *ckpts, "--steps", "5",
                                      "--results", str(results / "unsup")], tmp_path)
    assert "2 held-out fragments" in proc.stdout
    maps = (results / "unsup_real.md").read_text()
    assert "| k-means | raw SAR pixels | SAR |" in maps and "| late fusion, SAR branch | SAR |" in maps
    assert (results / "unsupervised_real_seed0.png").is_file()
    (data / "opt" / "001.jpg").unlink()
    bad = run_script("sar_optical", [sys.executable, "retrieval.py", "--checkpoint", ckpts[0]], tmp_path, check=False)
    assert bad.returncode == 2 and "001.png: missing partner" in bad.stderr and "Traceback" not in bad.stderr
