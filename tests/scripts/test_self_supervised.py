"""self_supervised/ end to end (issue 9): MIM pre-training on a folder pool, Model-Hub export of the encoder, and
few-shot linear probing and full fine-tuning from the exported name."""
import json
import sys

import numpy as np
import pytest
from helpers.scripts import run_script
from PIL import Image


def write_png(path, rng, size):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 255, (size, size), dtype=np.uint8)).save(path)


@pytest.mark.slow
def test_pretrain_export_and_few_shot_from_the_hub_name(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    pool = tmp_path / "pool"
    for i in range(8):
        write_png(pool / f"scene{i % 2}" / f"chip{i}.png", rng, 48)
    write_png(pool / "held_out" / "test_chip.png", rng, 48)
    mstar = tmp_path / "mstar"
    for split, n in (("train", 3), ("test", 2)):
        for cls in ("2S1", "BMP2", "T72"):
            for i in range(n):
                write_png(mstar / split / cls / f"{cls}_{i}.png", rng, 130)
    out = tmp_path / "mim"
    tiny = ["--encoder", "vit_tiny", "--img-size", "32", "--patch-size", "8"]
    proc = run_script("self_supervised", [sys.executable, "pretrain_mim.py", "--data-root", str(pool), "--exclude",
                                          "*/held_out/*", *tiny, "--epochs", "1", "--batch-size", "4",
                                          "--decoder-dim", "32", "--decoder-depth", "1", "--workers", "0",
                                          "--output", str(out)], tmp_path)
    assert "8 tiles of 32 px from 8 files" in proc.stdout
    assert (out / "encoder.safetensors").is_file()

    manifest, weights = tmp_path / "manifest.json", tmp_path / "weights"
    run_script("self_supervised", [sys.executable, "-m", "sarhub.hub", "export", "--checkpoint",
                                   str(out / "checkpoint_last.pth"), "--name", "vit_tiny-mim-test", "--out-dir",
                                   str(weights), "--manifest", str(manifest)], tmp_path)
    entry = json.loads(manifest.read_text())["weights"][0]
    assert entry["architecture"] == "vit_tiny_patch16_224" and entry["patch_size"] == 8 and entry["num_classes"] == 0
    assert (weights / "vit_tiny-mim-test.safetensors").stat().st_size == entry["size"] and len(entry["sha256"]) == 64

    results = tmp_path / "results"
    env_args = ["--weights", "vit_tiny-mim-test", *tiny, "--data-root", str(mstar), "--shots", "1,2",
                "--draws", "2", "--results", str(results)]
    monkeypatch.setenv("SARHUB_MANIFEST", str(manifest))
    monkeypatch.setenv("SARHUB_WEIGHTS", str(weights))
    probe = run_script("self_supervised", [sys.executable, "fewshot.py", *env_args, "--steps", "5"], tmp_path)
    tune = run_script("self_supervised", [sys.executable, "fewshot.py", *env_args, "--finetune", "--ft-steps", "2"],
                      tmp_path)
    assert "matched" in probe.stdout and "1-shot" in probe.stdout and "fine-tune" in tune.stdout
    rows = (results.with_suffix(".md")).read_text().splitlines()
    assert sum("| linear probe | mstar | test | 1 | 2 |" in r for r in rows) == 1
    assert sum("| fine-tune | mstar | test | 2 | 2 |" in r for r in rows) == 1
