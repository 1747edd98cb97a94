"""Classification metrics from logits and targets: top-k, per-class accuracy, macro/micro F1, confusion matrix.

Targets are class indices (N,) or multi-hot (N, C). For multi-label sets (BEN) top-k counts a hit when any of the
k best classes is one of the sample's labels, and micro-F1 compares label sets: with BCE the predicted set is
{c : sigmoid ≥ 0.5}; with softmax training on the normalised multi-hot target (the authors' BEN recipe) a sample
with k labels learns p ≈ 1/k on each, so the predicted set is {c : p_c ≥ ½·max p} (scale-free, always non-empty).
"""
from __future__ import annotations

import torch


def topk_accuracy(logits: torch.Tensor, target: torch.Tensor, k: int = 1) -> float:
    k = min(k, logits.shape[1])
    top = logits.topk(k, dim=1).indices
    if target.ndim == 1:
        hit = (top == target[:, None]).any(dim=1)
    else:
        hit = target.gather(1, top).gt(0).any(dim=1)
    return hit.float().mean().item() * 100.0


def confusion_matrix(pred: torch.Tensor, target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """C×C counts, rows = true class, columns = predicted class."""
    index = target.long() * num_classes + pred.long()
    return torch.bincount(index, minlength=num_classes**2).reshape(num_classes, num_classes)


def f1_from_confusion(cm: torch.Tensor) -> dict[str, torch.Tensor]:
    cm = cm.double()
    tp = cm.diag()
    precision = tp / cm.sum(dim=0).clamp_min(1)
    recall = tp / cm.sum(dim=1).clamp_min(1)
    f1 = 2 * precision * recall / (precision + recall).clamp_min(1e-12)
    return {"precision": precision, "recall": recall, "f1": f1}


def multilabel_predictions(logits: torch.Tensor, sigmoid: bool) -> torch.Tensor:
    if sigmoid:
        return logits.sigmoid() >= 0.5
    prob = logits.softmax(dim=1)
    return prob >= 0.5 * prob.max(dim=1, keepdim=True).values


def micro_f1(logits: torch.Tensor, target: torch.Tensor, sigmoid: bool = False) -> float:
    pred = multilabel_predictions(logits, sigmoid)
    truth = target > 0
    tp = (pred & truth).sum().item()
    fp = (pred & ~truth).sum().item()
    fn = (~pred & truth).sum().item()
    return 100.0 * 2 * tp / max(2 * tp + fp + fn, 1)


def classification_report(logits: torch.Tensor, target: torch.Tensor, sigmoid: bool = False) -> dict:
    """All numbers test.py and the training log report; percentages. `confusion` is a C×C tensor."""
    num_classes = logits.shape[1]
    out = {"top1": topk_accuracy(logits, target, 1), "top2": topk_accuracy(logits, target, 2),
           "top5": topk_accuracy(logits, target, 5)}
    if target.ndim == 1:
        cm = confusion_matrix(logits.argmax(dim=1), target, num_classes)
        scores = f1_from_confusion(cm)
        support = cm.sum(dim=1)
        present = support > 0
        out["macro_f1"] = scores["f1"][present].mean().item() * 100.0
        out["per_class_accuracy"] = (scores["recall"] * 100.0).tolist()
        out["per_class_precision"] = (scores["precision"] * 100.0).tolist()
        out["per_class_f1"] = (scores["f1"] * 100.0).tolist()
        out["confusion"] = cm
    else:
        out["micro_f1"] = micro_f1(logits, target, sigmoid)
    return out


def majority_vote(logits_list: list[torch.Tensor]) -> torch.Tensor:
    """Bagging vote: each model's arg-max is one vote; ties go to the class with the larger summed probability."""
    num_classes = logits_list[0].shape[1]
    votes = sum(torch.nn.functional.one_hot(l.argmax(dim=1), num_classes).float() for l in logits_list)
    prob = sum(l.float().softmax(dim=1) for l in logits_list) / len(logits_list)
    return (votes + 0.5 * prob).argmax(dim=1)  # prob < 1 can only break ties between equal vote counts
