"""The fusion pipeline's pieces: an evaluation inherits the pre-training run's data and split, tables name the models,
and clusters are scored after Hungarian matching over labelled pixels only."""
import pytest
import torch

from sarhub.data.sen12ms import CLASSES
from sarhub.metrics.segmentation import IGNORE_INDEX
from sarhub.pipelines.fusion import PatchData, matched_scores, model_label


def test_an_evaluation_takes_what_it_leaves_unset_from_the_run():
    run = PatchData(data_root="/data/pairs", test_fraction=0.4, split_seed=3)
    assert PatchData().over(run) == PatchData("/data/pairs", None, 0.4, 3)
    assert PatchData(split_seed=7).over(run).split_seed == 7
    assert PatchData().over() == PatchData(None, None, PatchData.TEST_FRACTION, 0)
    assert PatchData(test_root="/data/test").over(run).test_root == "/data/test"


def test_tables_name_the_models():
    assert model_label("late") == "late fusion" and model_label("sar") == "SAR only"
    assert model_label("optical", superpixel_contrast=False) == "optical only, image-level contrast only"


def test_relabelled_clusters_score_full_marks_and_ignored_pixels_do_not_count():
    g = torch.Generator().manual_seed(0)
    masks = [torch.randint(0, 4, (8, 8), generator=g) for _ in range(3)]  # classes 0..3 of the 10
    relabel = torch.tensor([2, 0, 3, 1])
    maps = [relabel[m] for m in masks]
    for mask, clusters in zip(masks, maps):
        mask[0, :] = IGNORE_INDEX
        clusters[0, :] = 0  # wrong everywhere the truth is ignored

    scores, lookup = matched_scores(lambda dataset: zip(maps, masks), None, k=4)
    assert lookup[relabel].tolist() == [0, 1, 2, 3]  # cluster relabel[c] is matched back to class c
    assert scores["overall_accuracy"] == pytest.approx(100) and scores["miou"] == pytest.approx(100)
    assert f"acc_{CLASSES[0]}" in scores and f"acc_{CLASSES[4]}" not in scores  # absent classes are left out
