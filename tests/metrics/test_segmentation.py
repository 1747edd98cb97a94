"""Segmentation metrics: each formula of Eq. (11)-(14) against counts worked out by hand, accumulation, merging, and
the land-cover scores after Hungarian matching of clusters."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from sarhub.metrics.segmentation import (
    TABLE8_COLUMNS,
    ConfusionMatrix,
    contingency,
    hungarian_mapping,
    land_cover_scores,
    matched_agreement,
    segmentation_scores,
)

# Truth (255 = ignored) and prediction, 4×4. Building pixels in truth: (0,2) (0,3) (1,2) (1,3) (2,2) = 5;
# predicted building among them: all but (1,2) -> TP_b = 4, FN_b = 1. Background pixels: 16 - 5 - 1 ignored = 10;
# predicted building among them: (0,1) (2,0) (3,0) -> FP_b = 3, TN = 7. The ignored pixel (2,1) is predicted 1.
TARGET = torch.tensor([[0, 0, 1, 1],
                       [0, 0, 1, 1],
                       [0, 255, 1, 0],
                       [0, 0, 0, 0]])
PRED = torch.tensor([[0, 1, 1, 1],
                     [0, 0, 0, 1],
                     [1, 1, 1, 0],
                     [1, 0, 0, 0]])


def test_formulas_on_hand_made_masks():
    cm = ConfusionMatrix()
    cm.update(PRED[None], TARGET[None])
    assert cm.mat.tolist() == [[7, 3], [1, 4]]  # rows truth, columns prediction
    s = cm.compute()
    assert s["cpa_building"] == pytest.approx(100 * 4 / 5)           # TP_b/(TP_b+FN_b) = 80 %
    assert s["iou_1"] == pytest.approx(100 * 4 / 8)                  # 4/(4+3+1) = 50 %
    assert s["iou_0"] == pytest.approx(100 * 7 / 11)                 # TN/(TN+FP_b+FN_b) = 63.64 %
    assert s["miou"] == pytest.approx(100 * 25 / 44)                 # (1/2 + 7/11)/2 = 56.82 %
    assert s["precision_building"] == pytest.approx(100 * 4 / 7)     # 57.14 %
    assert s["mean_precision"] == pytest.approx(100 * 81 / 112)      # (4/7 + 7/8)/2 = 72.32 %
    assert s["recall_building"] == pytest.approx(80.0)
    assert s["mean_recall"] == pytest.approx(75.0)                   # (4/5 + 7/10)/2
    assert s["pixel_accuracy"] == pytest.approx(100 * 11 / 15)


def test_accumulates_over_the_test_set_not_per_image():
    cm = ConfusionMatrix()
    cm.update(PRED[None], TARGET[None])
    cm.update(torch.zeros(1, 4, 4, dtype=torch.long), torch.zeros(1, 4, 4, dtype=torch.long))  # 16 more TN
    assert cm.mat.tolist() == [[23, 3], [1, 4]]
    assert cm.compute()["miou"] == pytest.approx(100 * (4 / 8 + 23 / 27) / 2)
    # logits (N×K×H×W) are arg-maxed; a batch of two equals two single updates
    logits = torch.nn.functional.one_hot(torch.stack([PRED, PRED]), 2).permute(0, 3, 1, 2).float()
    batched = ConfusionMatrix()
    batched.update(logits, torch.stack([TARGET, TARGET]))
    assert batched.mat.tolist() == [[14, 6], [2, 8]]


def test_all_reduce_with_a_callable_and_reset():
    cm = ConfusionMatrix()
    cm.update(PRED, TARGET)
    before = cm.compute()
    cm.all_reduce(lambda t: t.mul_(2))  # two ranks with identical shards
    assert cm.mat.tolist() == [[14, 6], [2, 8]]
    assert cm.compute() == pytest.approx(before)
    cm.all_reduce()  # not distributed: no-op
    assert cm.mat.sum() == 30
    cm.reset()
    assert cm.mat.sum() == 0


def test_one_confusion_matrix_reproduces_a_table8_row():
    # ResNet-18 / ImageNet row of Table 8: 41.38 / 62.23 / 75.47 / 69.45 with 6.87 % building pixels,
    # which pins down P and R as class means (building-only recall would equal CPA).
    s = segmentation_scores(torch.tensor([[908168, 23095], [40294, 28443]]))
    got = [s[k] for k in TABLE8_COLUMNS]
    assert got == pytest.approx([41.38, 62.23, 75.47, 69.45], abs=0.02)


def test_bad_labels_and_shapes():
    cm = ConfusionMatrix()
    with pytest.raises(ValueError, match="outside"):
        cm.update(torch.zeros(4, 4, dtype=torch.long), torch.full((4, 4), 2))
    with pytest.raises(ValueError, match="shape"):
        cm.update(torch.zeros(4, 4, dtype=torch.long), torch.zeros(4, 5, dtype=torch.long))


def test_the_target_class_is_named_in_the_keys():
    mat = torch.tensor([[908168, 23095], [40294, 28443]])
    building, ship = segmentation_scores(mat), ConfusionMatrix(2)
    ship.mat += mat
    ship = ship.compute(target="ship")
    assert ship["cpa_ship"] == building["cpa_building"] and ship["precision_ship"] == building["precision_building"]
    assert ship["miou"] == building["miou"] and "cpa_building" not in ship


def test_matched_agreement_of_two_cluster_maps():
    a = torch.tensor([[0, 0, 1, 1], [2, 2, 2, 1]])
    assert matched_agreement(contingency(a, (a + 1) % 3, 3, 3)) == 100.0  # a relabelling agrees fully
    b = torch.tensor([[1, 1, 1, 0], [2, 2, 0, 0]])
    counts = contingency(a, b, 3, 3)
    assert counts.sum() == 8 and counts[0, 1] == 2 and counts[1, 1] == 1 and counts[2, 0] == 1
    # best one-to-one matching: 0→1 (2 px), 1→0 (2 px), 2→2 (2 px) = 6 of 8
    assert matched_agreement(counts) == pytest.approx(75.0)


def test_hungarian_mapping_of_a_permuted_label_map_gives_accuracy_one():
    rng = np.random.default_rng(0)
    truth = torch.as_tensor(rng.integers(0, 5, (64, 64)))
    perm = torch.tensor([3, 0, 4, 1, 2])
    clusters = perm[truth]
    counts = torch.zeros(5, 5, dtype=torch.int64)
    counts.index_put_((clusters.flatten(), truth.flatten()), torch.ones(64 * 64, dtype=torch.int64), accumulate=True)
    lookup = hungarian_mapping(counts)
    assert torch.equal(lookup[clusters], truth)
    cm = torch.zeros(5, 5, dtype=torch.int64)
    cm.index_put_((truth.flatten(), lookup[clusters].flatten()), torch.ones(64 * 64, dtype=torch.int64), accumulate=True)
    scores = land_cover_scores(cm)
    assert scores["overall_accuracy"] == 100 and scores["miou"] == 100 and scores["average_accuracy"] == 100


def test_land_cover_scores_on_a_small_confusion_matrix():
    cm = torch.tensor([[8, 2, 0], [1, 9, 0], [0, 0, 0]])  # class 2 absent from the truth: left out of the means
    s = land_cover_scores(cm, ("a", "b", "c"))
    assert s["overall_accuracy"] == pytest.approx(85.0)
    assert s["average_accuracy"] == pytest.approx((80 + 90) / 2)
    assert s["miou"] == pytest.approx((8 / 11 + 9 / 12) / 2 * 100)
    assert s["acc_a"] == pytest.approx(80) and "acc_c" not in s
