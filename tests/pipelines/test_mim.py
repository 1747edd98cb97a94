"""Masked-image-modelling pre-training in-process on a tiny folder pool: the run's records and an encoder file that
loads into the ViT by name of its tensors, with its metadata."""
import json

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.torch import load_file

from sarhub.cli import parse_config
from sarhub.errors import ConfigError
from sarhub.pipelines import mim
from sarhub.ssl.mae import GradientMAE


def test_pretrain_writes_the_run_and_a_loadable_encoder(tmp_path):
    pool = tmp_path / "pool"
    pool.mkdir()
    for i in range(4):
        np.save(pool / f"{i}.npy", np.random.default_rng(i).random((32, 32)).astype(np.float32))
    out = tmp_path / "mim"
    history = mim.pretrain(parse_config(mim.MIMConfig, [
        "--data-root", str(pool), "--encoder", "vit_tiny", "--img-size", "32", "--patch-size", "16", "--batch-size",
        "2", "--epochs", "1", "--warmup-epochs", "0", "--decoder-dim", "32", "--decoder-depth", "1", "--workers", "0",
        "--output", str(out)]))
    assert len(history) == 1 and np.isfinite(history[0]["train_loss"])
    args = json.loads((out / "args.json").read_text())
    assert args["pool_tiles"] == 4 and args["pool_files"] == 4 and args["effective_lr"] == pytest.approx(1.5e-4 * 2 / 256)
    with safe_open(str(out / "encoder.safetensors"), "pt") as f:
        assert f.metadata() == {"arch": "vit_tiny", "img_size": "32", "patch_size": "16", "in_chans": "1",
                                "pretraining": "gradient-feature MIM"}
    encoder = GradientMAE("vit_tiny", 32, 16, decoder_dim=32, decoder_depth=1).encoder
    encoder.load_state_dict(load_file(str(out / "encoder.safetensors")))  # strict: every tensor by name


def test_an_image_size_that_the_patches_do_not_tile_is_refused():
    with pytest.raises(ConfigError, match="img_size: 40 is not a multiple of patch_size 16"):
        parse_config(mim.MIMConfig, ["--img-size", "40", "--patch-size", "16"])
