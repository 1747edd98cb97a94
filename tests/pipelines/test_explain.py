"""The explaining pipeline's inputs: checkpoints named on the command line, and the same seeded chips for every
model, cut to the window the first model saw."""
import torch
from helpers.inputs import mstar_set

from sarhub.cli import config_from
from sarhub.pipelines.explain import checkpoint_specs, pick_chips
from sarhub.pipelines.targets import TargetConfig


def test_checkpoints_are_labelled_or_named_by_their_folder(tmp_path):
    specs = checkpoint_specs(["final=runs/a/checkpoint_last.pth", "runs/e1/checkpoint_epoch1.pth"], tmp_path)
    assert specs == {"final": "runs/a/checkpoint_last.pth", "e1": "runs/e1/checkpoint_epoch1.pth"}


def test_chips_are_seeded_and_cut_to_the_models_window(tmp_path):
    root = mstar_set(tmp_path / "mstar", ("A", "B"), ("A", "B"), n=4)
    cfg = config_from(TargetConfig, {"data_root": str(root), "crop": 32, "img_size": 32})
    run = cfg.saved(classes=["A", "B"], in_chans=1, norm_mean=[0.1], norm_std=[1.0])
    data, pick, images = pick_chips(run, None, "test", 3, seed=0)
    again = pick_chips(run, None, "test", 3, seed=0)
    assert len(data) == 8 and images.shape == (3, 1, 32, 32)
    assert torch.equal(pick, again[1]) and torch.equal(images, again[2])
    assert not torch.equal(pick, pick_chips(run, None, "test", 3, seed=1)[1])
    _, _, window = pick_chips({**run, "input_size": 24}, None, "test", 3, seed=0)  # a random-crop model's input
    assert torch.equal(window, images[..., 4:28, 4:28])
