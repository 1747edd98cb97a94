"""Classification and segmentation losses of SAR-HUB (paper §3.2, Eq. 8–9) and its predecessor (GRSL 2020).

Targets may be class indices (B,) or multi-hot / soft targets (B, C) — BigEarthNet is multi-label and the authors
trained it with softmax cross-entropy on the multi-hot target, which is normalised here to a distribution.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from sarhub.config import option
from sarhub.errors import ConfigError


def target_distribution(target: torch.Tensor, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(soft target summing to 1 per sample, 0/1 class-presence indicator), both B×C float."""
    if target.ndim == 1:
        onehot = F.one_hot(target.long(), num_classes).float()
        return onehot, onehot
    present = (target > 0).float()
    return target.float() / target.float().sum(dim=1, keepdim=True).clamp_min(1e-12), present


def focal_terms(logits: torch.Tensor, soft_target: torch.Tensor, gamma: float) -> torch.Tensor:
    """Per (sample, class) focal terms −y_c·(1 − p_c)^γ·log p_c of a softmax classifier (γ = 0 is cross-entropy)."""
    logp = F.log_softmax(logits.float(), dim=1)
    modulator = (1.0 - logp.exp()).pow(gamma) if gamma else 1.0
    return -soft_target * modulator * logp


def effective_number_weights(counts: torch.Tensor, beta: float) -> torch.Tensor:
    """Class-balanced weights (1 − β)/(1 − β^n) of Cui et al. (CVPR 2019), counts floored at 1."""
    return ((1.0 - beta) / (1.0 - beta ** counts.double().clamp_min(1.0))).float()


class FocalLoss(nn.Module):
    """Focal loss (Lin et al., γ = 2), averaged over the batch."""

    def __init__(self, gamma: float = 2.0):
        super().__init__()
        self.gamma = gamma

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        soft, _ = target_distribution(target, logits.shape[1])
        return focal_terms(logits, soft, self.gamma).sum(dim=1).mean()


class CrossEntropy(FocalLoss):
    """Softmax cross-entropy that also takes multi-hot targets (normalised), as the authors trained BEN, with
    optional label smoothing ε (the target becomes (1 − ε)·y + ε/K)."""

    def __init__(self, label_smoothing: float = 0.0):
        super().__init__(gamma=0.0)
        self.label_smoothing = label_smoothing

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        soft, _ = target_distribution(target, logits.shape[1])
        if self.label_smoothing:
            soft = soft * (1.0 - self.label_smoothing) + self.label_smoothing / logits.shape[1]
        return focal_terms(logits, soft, 0.0).sum(dim=1).mean()


class ClassBalancedLoss(nn.Module):
    """CBL: focal loss weighted by the effective number of samples from the training set's global class counts.

    Weights are normalised to sum to the number of classes, as in Cui et al. β defaults to 0.9999 (their value for
    sets of thousands of samples per class: with β = 0.995 all classes above ~1000 samples get the same weight).
    """

    def __init__(self, class_counts: torch.Tensor | list[int], beta: float = 0.9999, gamma: float = 2.0):
        super().__init__()
        weights = effective_number_weights(torch.as_tensor(class_counts), beta)
        self.register_buffer("weights", weights * len(weights) / weights.sum())
        self.gamma = gamma

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        soft, _ = target_distribution(target, logits.shape[1])
        return (focal_terms(logits, soft, self.gamma) * self.weights).sum(dim=1).mean()


class MiniCBLoss(nn.Module):
    """Mini-batch class-balanced loss (Eq. 8–9): each sample's focal loss times (1 − β)/(1 − β^n_y), n_y its class
    count in the mini-batch (at least 1), averaged over the batch. β = 0.995.

    For multi-label targets each (sample, class) focal term is weighted by its class's in-batch count, which reduces
    to Eq. (9) for single labels. Under DDP the counts are those of the local batch (the per-GPU mini-batch the
    paper's equations describe); `global_counts=True` all-reduces them over ranks instead.
    """

    def __init__(self, beta: float = 0.995, gamma: float = 2.0, global_counts: bool = False):
        super().__init__()
        self.beta, self.gamma, self.global_counts = beta, gamma, global_counts

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        soft, present = target_distribution(target, logits.shape[1])
        counts = present.sum(dim=0)
        if self.global_counts and dist.is_available() and dist.is_initialized():
            counts = counts.clone()
            dist.all_reduce(counts)
        weights = effective_number_weights(counts, self.beta)
        return (focal_terms(logits, soft, self.gamma) * weights).sum(dim=1).mean()


class MultiLabelBCE(nn.Module):
    """Binary cross-entropy over classes for multi-hot targets (the per-class sigmoid alternative for BEN)."""

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if target.ndim == 1:
            target = F.one_hot(target.long(), logits.shape[1])
        return F.binary_cross_entropy_with_logits(logits.float(), (target > 0).float())


# --- predecessor (Huang et al., GRSL 2020) ----------------------------------------------------------------------

def top2_smooth_svm(scores: torch.Tensor, target: torch.Tensor, tau: float = 1.0) -> torch.Tensor:
    """Smooth top-2 SVM loss (Berrada et al., ICLR 2018, Eq. 1 of the GRSL paper), per sample.

    L = τ·log Σ_{ȳ∈Y2} exp((Δ(ȳ,y) + ½Σ_{j∈ȳ}s_j)/τ) − τ·log Σ_{ȳ∈Y2, y∈ȳ} exp(½Σ_{j∈ȳ}s_j/τ), Δ = 1 if y ∉ ȳ.
    The sum over all 2-subsets {i<j} of exp(a_i + a_j), a = s/(2τ), is the 2nd elementary symmetric polynomial of
    e^a, evaluated in log space from sorted scores, so n = 45 classes costs O(n log n) per sample without building
    the n(n−1)/2 subsets, and scores of ±1e4 stay finite.
    """
    a = scores.float() / (2.0 * tau)
    n = a.shape[1]
    y = target.long()
    a_y = a.gather(1, y[:, None]).squeeze(1)
    keep = torch.arange(n - 1, device=a.device)[None, :]
    others = a.gather(1, keep + (keep >= y[:, None]).long())  # a_j for j != y, B x (n-1)
    # subsets containing y: sum over j != y of exp(a_y + a_j)
    log_with_y = a_y + torch.logsumexp(others, dim=1)
    # subsets without y: e2 = sum_i e^{b_i} sum_{j>i} e^{b_j} over the others sorted in descending order, with the
    # inner sums as a reverse log-cumsum-exp: exact and free of the cancellation in (sum e^a)^2 - sum e^2a.
    b, _ = others.sort(dim=1, descending=True)
    tail = torch.logcumsumexp(b.flip(1), dim=1).flip(1)  # tail[:, i] = log sum_{j>=i} e^{b_j}
    log_without_y = torch.logsumexp(b[:, :-1] + tail[:, 1:], dim=1)
    delta = 1.0 / tau
    first = torch.logaddexp(log_with_y, log_without_y + delta)
    return tau * (first - log_with_y)


def cost_sensitive_weights(class_counts: torch.Tensor | list[int]) -> torch.Tensor:
    """Eq. (3) of the GRSL paper: w_y = (1 − N_y/ΣN_i)/(n − 1); the weights sum to 1."""
    counts = torch.as_tensor(class_counts, dtype=torch.float64)
    n = counts.numel()
    return ((1.0 - counts / counts.sum()) / (n - 1)).float()


class CombinedTop2Loss(nn.Module):
    """Eq. (2) of the GRSL paper: (1 − λ)·CE + w_y·λ·L_top2 (+ μ·L2, applied by the optimiser's weight decay).

    Defaults λ = 0.2, τ = 1.0 as in the paper; `class_counts` gives the cost-sensitive weights w_y of Eq. (3)
    (uniform 1 when omitted). λ = 1 with uniform weights is the pure top-2 loss.
    """

    def __init__(self, class_counts: list[int] | torch.Tensor | None = None, lam: float = 0.2, tau: float = 1.0):
        super().__init__()
        self.lam, self.tau = lam, tau
        weights = cost_sensitive_weights(class_counts) if class_counts is not None else None
        self.register_buffer("weights", weights, persistent=False)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        top2 = top2_smooth_svm(logits, target, self.tau)
        if self.weights is not None:
            top2 = top2 * self.weights[target]
        ce = F.cross_entropy(logits.float(), target.long(), reduction="none")
        return ((1.0 - self.lam) * ce + self.lam * top2).mean()


# --- segmentation -----------------------------------------------------------------------------------------------

class DiceLoss(nn.Module):
    """Dice loss as MMSegmentation defines it: softmax probabilities vs one-hot target, per sample and class
    1 − (2·Σ p·t + smooth)/(Σ p^e + Σ t^e + smooth) with smooth 1 and exponent 2, averaged over classes and samples.
    Pixels labelled `ignore_index` are excluded from both sums (MMSeg excludes them from the numerator only).
    """

    def __init__(self, smooth: float = 1.0, exponent: float = 2.0, ignore_index: int = 255):
        super().__init__()
        self.smooth, self.exponent, self.ignore_index = smooth, exponent, ignore_index

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        num_classes = logits.shape[1]
        prob = logits.float().softmax(dim=1).flatten(2)  # B×C×P
        valid = (target != self.ignore_index).flatten(1).unsqueeze(1).float()  # B×1×P
        onehot = F.one_hot(target.clamp(0, num_classes - 1).long(), num_classes).flatten(1, 2).transpose(1, 2).float()
        prob, onehot = prob * valid, onehot * valid
        num = 2.0 * (prob * onehot).sum(dim=2) + self.smooth
        den = prob.pow(self.exponent).sum(dim=2) + onehot.pow(self.exponent).sum(dim=2) + self.smooth
        return (1.0 - num / den).mean()


LOSSES = ("ce", "focal", "cbl", "minicbl", "bce", "top2", "combined")


@dataclass
class LossOptions:
    """The classification loss of a run (paper §3.2, and the predecessor's combined top-2 loss)."""

    name: str = option("ce", "ce, focal, cbl, minicbl (Mini-CBL), bce (multi-label), top2, combined", flag="loss",
                       choices=LOSSES)
    label_smoothing: float = option(0.0, "ce loss: label smoothing ε", bounds=(0.0, 1.0))
    beta: float | None = option(None, "class-balance β (None: the loss's own, Mini-CBL 0.995, CBL 0.9999)",
                                bounds=(0.0, 1.0))
    global_batch_counts: bool = option(False, "Mini-CBL under DDP: all-reduce the in-batch class counts")
    top2_lambda: float = option(0.2, "combined loss: weight λ of the top-2 term", bounds=(0.0, None))
    top2_tau: float = option(1.0, "top-2 smooth SVM temperature τ", positive=True)

    def __post_init__(self) -> None:
        if self.label_smoothing and self.name != "ce":
            raise ConfigError("label_smoothing", f"is implemented for the ce loss only, not {self.name!r}")

    def build(self, num_classes: int, class_counts: list[int] | None = None) -> nn.Module:
        """The loss module of these options for a training set's classes."""
        return build_classification_loss(self.name, num_classes, class_counts, self.beta,
                                         global_counts=self.global_batch_counts, top2_lambda=self.top2_lambda,
                                         top2_tau=self.top2_tau, label_smoothing=self.label_smoothing)


def build_classification_loss(
    name: str, num_classes: int, class_counts: list[int] | None = None, beta: float | None = None,
    gamma: float = 2.0, global_counts: bool = False, top2_lambda: float = 0.2, top2_tau: float = 1.0,
    label_smoothing: float = 0.0,
) -> nn.Module:
    """Loss by name: ce, focal, cbl, minicbl, bce, top2 (pure smooth top-2), combined (Eq. 2 with cost weights).
    `label_smoothing` applies to ce only."""
    name = name.lower()
    if label_smoothing and name != "ce":
        raise ValueError(f"label smoothing is implemented for the ce loss only, not {name!r}")
    if name == "ce":
        return CrossEntropy(label_smoothing)
    if name == "focal":
        return FocalLoss(gamma)
    if name == "minicbl":
        return MiniCBLoss(0.995 if beta is None else beta, gamma, global_counts)
    if name == "bce":
        return MultiLabelBCE()
    if class_counts is None and name in ("cbl", "combined"):
        raise ValueError(f"loss {name!r} needs the training set's class counts")
    if name == "cbl":
        return ClassBalancedLoss(class_counts, 0.9999 if beta is None else beta, gamma)
    if name == "top2":
        return CombinedTop2Loss(None, lam=1.0, tau=top2_tau)
    if name == "combined":
        return CombinedTop2Loss(class_counts, lam=top2_lambda, tau=top2_tau)
    raise ValueError(f"unknown loss {name!r}; choose ce, focal, cbl, minicbl, bce, top2 or combined")
