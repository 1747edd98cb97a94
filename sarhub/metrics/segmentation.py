"""Segmentation scores of Table 8 from one confusion matrix accumulated over the whole test set (not per image).

Paper Eq. (11)–(14), with TP/FP/FN per class c from the confusion matrix:
    CPA_building = TP_b / (TP_b + FN_b)                      (class pixel accuracy of "building")
    mIoU         = mean_c TP_c / (TP_c + FP_c + FN_c)        over background and building
    P            = mean_c TP_c / (TP_c + FP_c)
    R            = mean_c TP_c / (TP_c + FN_c)
Table 8's P and R are class means (MMSegmentation's mPrecision/mRecall): the building-only recall would equal
CPA_building, yet every row of Table 8 has R ≠ CPA; with class means one confusion matrix reproduces a whole row
(ResNet-18/IMG: 41.38/62.23/75.47/69.45 with 7 % building pixels, see tests). The building-class precision and
recall are reported too, under their own names. All scores are percentages. The target class is named in the keys
(`target="ship"` gives cpa_ship, precision_ship, recall_ship for SSDD's ship masks).
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.distributed as dist

IGNORE_INDEX = 255  # the label of pixels no score or loss counts (unlabelled, padding): the one definition
BUILDING = 1
TABLE8_COLUMNS = ("cpa_building", "miou", "mean_precision", "mean_recall")


class ConfusionMatrix:
    """K×K pixel counts (rows = truth, columns = prediction) accumulated with one bincount per batch.

    update() takes predicted labels (N×H×W) or logits (N×K×H×W) and the target (N×H×W); pixels whose target is
    `ignore_index` are skipped. all_reduce() sums the matrix over DDP ranks (every rank then holds the total).
    """

    def __init__(self, num_classes: int = 2, ignore_index: int = IGNORE_INDEX, device: torch.device | str = "cpu"):
        self.num_classes, self.ignore_index = num_classes, ignore_index
        self.mat = torch.zeros(num_classes, num_classes, dtype=torch.int64, device=device)

    @torch.no_grad()
    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        if pred.ndim == target.ndim + 1:
            pred = pred.argmax(dim=1)
        if pred.shape != target.shape:
            raise ValueError(f"prediction {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape")
        keep = target != self.ignore_index
        target, pred = target[keep].long(), pred[keep].long()
        if target.numel() and (target.min() < 0 or target.max() >= self.num_classes):
            raise ValueError(f"target labels outside 0..{self.num_classes - 1} (and {self.ignore_index} = ignore)")
        index = (target * self.num_classes + pred).to(self.mat.device)
        self.mat += torch.bincount(index, minlength=self.num_classes**2).reshape(self.num_classes, self.num_classes)

    def all_reduce(self, reduce: Callable[[torch.Tensor], None] | None = None) -> None:
        """Sum over ranks in place with `reduce` (an all_reduce-like callable) or torch.distributed when initialised.

        With NCCL the matrix must live on the rank's GPU (construct with device=...).
        """
        if reduce is not None:
            reduce(self.mat)
        elif dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            dist.all_reduce(self.mat, op=dist.ReduceOp.SUM)

    def reset(self) -> None:
        self.mat.zero_()

    def compute(self, target: str = "building") -> dict[str, float]:
        return segmentation_scores(self.mat, target=target)


def segmentation_scores(mat: torch.Tensor, positive: int = BUILDING, target: str = "building") -> dict[str, float]:
    """Table 8's scores (and per-class IoU, target P/R, pixel accuracy) from a K×K confusion matrix, in %; class
    `positive` is the target, named `target` in the keys (cpa_<target>, precision_<target>, recall_<target>).

    A class absent from both truth and prediction has no defined IoU/precision/recall and is left out of the means.
    """
    mat = mat.double().cpu()
    tp = mat.diag()
    truth, predicted = mat.sum(dim=1), mat.sum(dim=0)
    fp, fn = predicted - tp, truth - tp

    def ratio(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
        return torch.where(den > 0, num / den.clamp_min(1), torch.full_like(num, float("nan")))

    iou, precision, recall = ratio(tp, tp + fp + fn), ratio(tp, tp + fp), ratio(tp, tp + fn)

    def pct(value: torch.Tensor) -> float:
        return float(value) * 100.0

    scores = {
        f"cpa_{target}": pct(recall[positive]),
        "miou": pct(iou.nanmean()),
        "mean_precision": pct(precision.nanmean()),
        "mean_recall": pct(recall.nanmean()),
        f"precision_{target}": pct(precision[positive]),
        f"recall_{target}": pct(recall[positive]),
        "pixel_accuracy": pct(tp.sum() / mat.sum().clamp_min(1)),
    }
    scores.update({f"iou_{c}": pct(iou[c]) for c in range(mat.shape[0])})
    return scores


def land_cover_scores(mat: torch.Tensor, class_names: tuple[str, ...] | None = None) -> dict[str, float]:
    """Multi-class scores from a K×K confusion matrix (rows truth), in %: overall accuracy (OA), average accuracy
    (AA, the mean per-class accuracy) and mIoU over the classes present in the truth, plus per-class accuracy/IoU."""
    mat = mat.double().cpu()
    tp, truth, predicted = mat.diag(), mat.sum(dim=1), mat.sum(dim=0)
    present = truth > 0
    accuracy = tp / truth.clamp_min(1)
    iou = tp / (truth + predicted - tp).clamp_min(1)
    names = class_names or tuple(str(c) for c in range(mat.shape[0]))
    scores = {"overall_accuracy": float(tp.sum() / mat.sum().clamp_min(1)) * 100,
              "average_accuracy": float(accuracy[present].mean()) * 100,
              "miou": float(iou[present].mean()) * 100}
    for c in torch.nonzero(present).flatten().tolist():
        scores[f"acc_{names[c]}"] = float(accuracy[c]) * 100
        scores[f"iou_{names[c]}"] = float(iou[c]) * 100
    return scores


def hungarian_mapping(mat: torch.Tensor) -> torch.Tensor:
    """Cluster → class lookup maximising matched pixels, from a C×K count matrix (rows clusters, columns classes).

    Clusters left without a class (C > K) map to the class they overlap most.
    """
    from scipy.optimize import linear_sum_assignment

    counts = mat.double().cpu().numpy()
    rows, cols = linear_sum_assignment(-counts)
    lookup = torch.as_tensor(counts.argmax(axis=1), dtype=torch.long)
    lookup[torch.as_tensor(rows, dtype=torch.long)] = torch.as_tensor(cols, dtype=torch.long)
    return lookup


def contingency(a: torch.Tensor, b: torch.Tensor, ka: int, kb: int) -> torch.Tensor:
    """ka×kb pixel counts of (label in `a`, label in `b`) over two label maps of the same shape."""
    index = a.flatten().long().cpu() * kb + b.flatten().long().cpu()
    return torch.bincount(index, minlength=ka * kb).reshape(ka, kb)


def matched_agreement(counts: torch.Tensor) -> float:
    """Pixel agreement (%) of two K-cluster maps after the one-to-one cluster matching that maximises it
    (Hungarian, on their K×K contingency table): 100 when one map is a relabelling of the other."""
    lookup = hungarian_mapping(counts)
    return float(counts[torch.arange(len(lookup)), lookup].sum()) / max(int(counts.sum()), 1) * 100
