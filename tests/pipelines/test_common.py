"""What the test steps share: a classifier rebuilt from its checkpoint with its preprocessing, confusion matrices
written, and the subset lists a COCO test step scores."""
from pathlib import Path

import pytest
import torch
from helpers.hub_fixture import RUN_ARGS

from sarhub import create_model
from sarhub.checkpoints import save_checkpoint
from sarhub.errors import ConfigError, WeightsError
from sarhub.hub import InputContract
from sarhub.pipelines.common import CocoTestOptions, load_classifier, rebuild_classifier, save_confusion, subset_lists

ARGS = {**RUN_ARGS, "classes": ["a", "b", "c"]}


def test_a_classifier_comes_back_with_its_weights_and_preprocessing(tmp_path):
    trained = create_model("resnet18", num_classes=3, img_size=32).eval()
    save_checkpoint({"model": trained.state_dict(), "args": ARGS}, tmp_path / "checkpoint_last.pth")
    model, run, preprocess = load_classifier(tmp_path / "checkpoint_last.pth")
    x = torch.rand(2, 1, 32, 32)
    assert run["classes"] == ["a", "b", "c"] and not model.training and not preprocess.training
    assert torch.equal(model(x), trained(x))
    assert torch.equal(preprocess(x), InputContract.from_run(ARGS).preprocess()(x))


def test_other_checkpoints_are_refused_naming_the_file():
    state = create_model("resnet18", num_classes=3, img_size=32).state_dict()
    with pytest.raises(WeightsError, match="det.pth: not a classifier checkpoint"):
        rebuild_classifier({"model": state, "args": {"num_classes": 1, "model": "resnet18"}}, "det.pth")
    with pytest.raises(WeightsError, match="r50.pth: its weights do not fit a resnet50 classifier"):
        rebuild_classifier({"model": state, "args": {**ARGS, "model": "resnet50"}}, "r50.pth")


def test_confusion_matrix_csv_and_figure(tmp_path):
    save_confusion(torch.tensor([[3, 1], [0, 4]]), ["ship", "sea"], tmp_path / "out" / "confusion_test")
    assert (tmp_path / "out" / "confusion_test.csv").read_text() == "true\\pred,ship,sea\nship,3,1\nsea,0,4\n"
    assert (tmp_path / "out" / "confusion_test.png").stat().st_size > 1000


def test_subset_lists_given_official_or_none():
    official = {"inshore": "test_inshore.txt"}
    assert subset_lists(CocoTestOptions(checkpoint="c"), official, "/ssdd") == {"inshore": Path("/ssdd/test_inshore.txt")}
    assert subset_lists(CocoTestOptions(checkpoint="c", split="val"), official, "/ssdd") == {}
    given = CocoTestOptions(checkpoint="c", subset=["near=a.txt"], ann="x.json", image_dir="im")
    assert subset_lists(given, official, "/ssdd") == {"near": Path("a.txt")}
    with pytest.raises(ConfigError, match="image_dir: an ann set needs image_dir"):
        subset_lists(CocoTestOptions(checkpoint="c", ann="x.json"), official, "/ssdd")
    with pytest.raises(ConfigError, match="subset: takes NAME=LIST, got 'near'"):
        subset_lists(CocoTestOptions(checkpoint="c", subset=["near"]), official, "/ssdd")
