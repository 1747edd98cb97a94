"""Classification metrics: bagging's majority vote, top-1/top-2 accuracy and the per-class report."""
import pytest
import torch

from sarhub.metrics.classification import classification_report, majority_vote


def test_majority_vote_on_hand_made_predictions():
    a = torch.tensor([[5.0, 0, 0], [0, 5.0, 0], [0, 0, 5.0], [3.0, 2.9, 0]])
    b = torch.tensor([[4.0, 0, 0], [0, 0, 5.0], [0, 0, 5.0], [0, 3.0, 0]])
    c = torch.tensor([[0, 4.0, 0], [0, 5.0, 0], [5.0, 0, 0], [0, 0, 1.0]])
    # sample 0: votes 0,0,1 -> 0; sample 1: 1,2,1 -> 1; sample 2: 2,2,0 -> 2;
    # sample 3: votes 0,1,2 tie -> the largest summed probability, class 1
    assert majority_vote([a, b, c]).tolist() == [0, 1, 2, 1]


def test_top2_accuracy_and_per_class_report():
    logits = torch.tensor([[3.0, 2.0, 0.0], [0.0, 1.0, 3.0], [2.0, 3.0, 0.0]])
    target = torch.tensor([1, 2, 0])
    r = classification_report(logits, target)
    assert r["top1"] == pytest.approx(100 / 3) and r["top2"] == pytest.approx(100.0)
    assert r["per_class_accuracy"] == pytest.approx([0.0, 0.0, 100.0])
