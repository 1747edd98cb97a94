"""Losses against hand-worked values: focal, Mini-CBL (Eq. 8–9), CBL, top-2 smooth SVM, cost weights, Dice."""
import itertools
import math

import pytest
import torch

from sarhub.losses import (
    ClassBalancedLoss,
    CombinedTop2Loss,
    DiceLoss,
    FocalLoss,
    MiniCBLoss,
    build_classification_loss,
    cost_sensitive_weights,
    top2_smooth_svm,
)


def softmax(row):
    e = [math.exp(v) for v in row]
    return [v / sum(e) for v in e]


def focal_by_hand(row, y, gamma=2.0):
    p = softmax(row)[y]
    return -((1 - p) ** gamma) * math.log(p)


def test_focal_matches_hand_value():
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]])
    y = torch.tensor([0, 2])
    want = (focal_by_hand([2.0, 0.5, -1.0], 0) + focal_by_hand([0.1, 0.2, 0.3], 2)) / 2
    assert FocalLoss()(logits, y).item() == pytest.approx(want, rel=1e-6)


def test_minicbl_weights_each_sample_by_its_in_batch_class_count():
    rows = [[1.0, 0.0], [0.3, 0.2], [-0.5, 0.7]]
    y = [0, 0, 1]
    # n_0 = 2 -> w = 0.005 / (1 - 0.995^2) = 0.501253; n_1 = 1 -> w = 1
    w0 = 0.005 / (1 - 0.995**2)
    assert w0 == pytest.approx(0.501253, abs=1e-6)
    want = (w0 * focal_by_hand(rows[0], 0) + w0 * focal_by_hand(rows[1], 0) + 1.0 * focal_by_hand(rows[2], 1)) / 3
    got = MiniCBLoss()(torch.tensor(rows), torch.tensor(y)).item()
    assert got == pytest.approx(want, rel=1e-6)


def test_minicbl_multilabel_reduces_to_single_label_on_one_hot_targets():
    logits = torch.randn(6, 4)
    y = torch.tensor([0, 1, 1, 3, 3, 3])
    onehot = torch.nn.functional.one_hot(y, 4).float()
    assert MiniCBLoss()(logits, onehot).item() == pytest.approx(MiniCBLoss()(logits, y).item(), rel=1e-6)


def test_cbl_uses_global_counts_normalised_to_class_count():
    loss = ClassBalancedLoss([100, 10], beta=0.99)
    w = [(1 - 0.99) / (1 - 0.99**100), (1 - 0.99) / (1 - 0.99**10)]
    w = [v * 2 / sum(w) for v in w]
    assert loss.weights.tolist() == pytest.approx(w, rel=1e-6)
    logits = torch.tensor([[0.2, 0.1], [0.0, 1.0]])
    want = (w[0] * focal_by_hand([0.2, 0.1], 0) + w[1] * focal_by_hand([0.0, 1.0], 1)) / 2
    assert loss(logits, torch.tensor([0, 1])).item() == pytest.approx(want, rel=1e-6)


@pytest.mark.parametrize("n", [7, 12])
def test_top2_equals_bruteforce_enumeration(n):
    g = torch.Generator().manual_seed(n)
    scores = torch.randn(16, n, generator=g, dtype=torch.float64) * 3
    y = torch.randint(0, n, (16,), generator=g)
    for tau in (0.5, 1.0, 2.0):
        assert torch.allclose(top2_smooth_svm(scores, y, tau).double(), top2_smooth_svm_bruteforce(scores, y, tau),
                              atol=1e-5)


def test_top2_is_finite_for_huge_scores_and_fast_for_many_classes():
    scores = (torch.randn(8, 45) * 1e4).requires_grad_()
    y = torch.randint(0, 45, (8,))
    loss = top2_smooth_svm(scores, y)
    loss.sum().backward()
    assert torch.isfinite(loss).all() and torch.isfinite(scores.grad).all()
    assert torch.allclose(loss.double(), top2_smooth_svm_bruteforce(scores.detach().double(), y), rtol=1e-5)


def test_top2_loss_is_zero_margin_case():
    # the true class and one other far above the rest: all mass on subsets containing y -> loss ~ 0
    scores = torch.tensor([[50.0, 49.0, -50.0, -50.0]])
    assert top2_smooth_svm(scores, torch.tensor([0])).item() == pytest.approx(0.0, abs=1e-6)


def test_cost_sensitive_weights_follow_eq3_and_sum_to_one():
    counts = [50, 30, 20]
    w = cost_sensitive_weights(counts)
    assert w.tolist() == pytest.approx([(1 - 0.5) / 2, (1 - 0.3) / 2, (1 - 0.2) / 2])
    assert w.sum().item() == pytest.approx(1.0)


def test_combined_loss_mixes_ce_and_weighted_top2():
    logits = torch.randn(5, 4)
    y = torch.tensor([0, 1, 2, 3, 0])
    counts = [10, 20, 30, 40]
    loss = CombinedTop2Loss(counts, lam=0.2, tau=1.0)(logits, y)
    w = cost_sensitive_weights(counts)[y]
    ce = torch.nn.functional.cross_entropy(logits, y, reduction="none")
    want = (0.8 * ce + 0.2 * w * top2_smooth_svm_bruteforce(logits.double(), y).float()).mean()
    assert loss.item() == pytest.approx(want.item(), rel=1e-5)


def test_dice_matches_mmseg_formula_by_hand():
    logits = torch.tensor([[[[2.0, 0.0]], [[0.0, 1.0]]]])  # 1×2×1×2
    target = torch.tensor([[[0, 1]]])
    p0 = [math.exp(2) / (math.exp(2) + 1), 1 / (1 + math.e)]
    p1 = [1 - p0[0], 1 - p0[1]]
    d0 = 1 - (2 * p0[0] + 1) / (p0[0] ** 2 + p0[1] ** 2 + 1 + 1)
    d1 = 1 - (2 * p1[1] + 1) / (p1[0] ** 2 + p1[1] ** 2 + 1 + 1)
    assert DiceLoss()(logits, target).item() == pytest.approx((d0 + d1) / 2, rel=1e-6)
    ignored = torch.tensor([[[0, 255]]])
    assert torch.isfinite(DiceLoss()(logits, ignored))


def test_loss_factory_names_and_errors():
    for name in ("ce", "focal", "minicbl", "bce", "top2"):
        assert isinstance(build_classification_loss(name, 3), torch.nn.Module)
    with pytest.raises(ValueError, match="class counts"):
        build_classification_loss("cbl", 3)
    with pytest.raises(ValueError, match="unknown loss"):
        build_classification_loss("hinge", 3)


def test_label_smoothing_matches_torch_and_is_ce_only():
    from sarhub.losses import build_classification_loss

    logits, target = torch.randn(6, 5), torch.tensor([0, 1, 2, 3, 4, 0])
    loss = build_classification_loss("ce", 5, label_smoothing=0.1)
    torch.testing.assert_close(loss(logits, target), torch.nn.functional.cross_entropy(logits, target,
                                                                                       label_smoothing=0.1))
    with pytest.raises(ValueError, match="ce loss only"):
        build_classification_loss("minicbl", 5, label_smoothing=0.1)


def top2_smooth_svm_bruteforce(scores: torch.Tensor, target: torch.Tensor, tau: float = 1.0) -> torch.Tensor:
    """Reference enumeration over all 2-subsets (O(n²)): what the closed form must equal."""
    n = scores.shape[1]
    pairs = torch.tensor(list(itertools.combinations(range(n), 2)), device=scores.device)
    pair_sum = 0.5 * (scores[:, pairs[:, 0]] + scores[:, pairs[:, 1]]).double()
    contains = (pairs[None, :, 0] == target[:, None]) | (pairs[None, :, 1] == target[:, None])
    delta = (~contains).double()
    first = tau * torch.logsumexp((delta + pair_sum) / tau, dim=1)
    second = tau * torch.logsumexp((pair_sum / tau).masked_fill(~contains, float("-inf")), dim=1)
    return first - second
