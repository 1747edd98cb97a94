"""Few-shot evaluation of a frozen encoder: K labelled images per class, a linear probe, many seeds, mean ± 95 % CI.

The encoder is frozen and the images are not augmented, so features are extracted once and every (K, seed) probe
trains on cached vectors in milliseconds. The probe head is LayerNorm → BatchNorm(affine=False) → Linear (all its
norms trainable where they have parameters), AdamW lr 1e-3, as in the MAE/SAR-JEPA linear-probing recipe.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from scipy import stats
from torch import nn
from torch.utils.data import DataLoader, Dataset

from sarhub.metrics.classification import classification_report


@torch.no_grad()
def extract_features(encode: Callable[[torch.Tensor], torch.Tensor], dataset: Dataset, device: torch.device,
                     batch_size: int = 128) -> tuple[torch.Tensor, torch.Tensor]:
    feats, labels = [], []
    for batch in DataLoader(dataset, batch_size=batch_size):
        feats.append(encode(batch["image"].to(device)).float().cpu())
        labels.append(torch.as_tensor(batch["label"]))
    return torch.cat(feats), torch.cat(labels)


def few_shot_indices(labels: torch.Tensor, shots: int, seed: int) -> torch.Tensor:
    """`shots` random indices of every class (all of a class that has fewer), seeded."""
    g = torch.Generator().manual_seed(seed)
    chosen = []
    for c in labels.unique().tolist():
        idx = torch.nonzero(labels == c).flatten()
        chosen.append(idx[torch.randperm(len(idx), generator=g)[:shots]])
    return torch.cat(chosen)


def probe_head(dim: int, num_classes: int) -> nn.Module:
    return nn.Sequential(nn.LayerNorm(dim), nn.BatchNorm1d(dim, affine=False), nn.Linear(dim, num_classes))


def fit_linear(head: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int, lr: float,
               weight_decay: float = 0.0) -> nn.Module:
    """Train a linear head full-batch with AdamW on cached features (the encoder never runs again): the few-shot
    probe here and the fusion linear evaluation's 1×1 convolution. Returns the head in eval mode."""
    opt = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=weight_decay)
    head.train()
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.cross_entropy(head(x).flatten(1), y).backward()
        opt.step()
    return head.eval()


def linear_probe(train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor, test_y: torch.Tensor,
                 num_classes: int, steps: int = 300, lr: float = 1e-3, seed: int = 0) -> dict:
    """Train the probe head full-batch on cached features; returns top-1 and macro F1 (%) on the test features."""
    torch.manual_seed(seed)
    head = fit_linear(probe_head(train_x.shape[1], num_classes), train_x, train_y, steps, lr)
    with torch.no_grad():
        report = classification_report(head(test_x), test_y)
    return {"top1": report["top1"], "macro_f1": report["macro_f1"]}


@torch.no_grad()
def knn_top1(train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor, test_y: torch.Tensor,
             k: int = 20, temperature: float = 0.07, chunk: int = 1024) -> float:
    """Weighted k-nearest-neighbour top-1 (%) on cosine similarity of frozen features, the monitor of
    self-supervised runs (Wu et al. 2018): each of the k nearest training features votes exp(similarity / T)."""
    train = F.normalize(train_x.float(), dim=1)
    classes = int(max(train_y.max(), test_y.max())) + 1
    correct = 0
    for start in range(0, len(test_x), chunk):
        sims, idx = (F.normalize(test_x[start:start + chunk].float(), dim=1) @ train.T).topk(min(k, len(train)))
        votes = torch.zeros(len(idx), classes).scatter_add_(1, train_y[idx], (sims / temperature).exp())
        correct += int((votes.argmax(1) == test_y[start:start + chunk]).sum())
    return 100.0 * correct / len(test_x)


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Mean and the half-width of its Student-t confidence interval."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, float("nan")
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return mean, float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)


@torch.no_grad()
def stack_images(dataset: Dataset, batch_size: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """All images and labels of a dataset as two tensors (read once, reused by every fine-tuning run)."""
    images, labels = [], []
    for batch in DataLoader(dataset, batch_size=batch_size):
        images.append(batch["image"])
        labels.append(torch.as_tensor(batch["label"]))
    return torch.cat(images), torch.cat(labels)


def full_finetune(model: nn.Module, encode: Callable[[torch.Tensor], torch.Tensor], dim: int,
                  train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor, test_y: torch.Tensor,
                  num_classes: int, steps: int = 100, lr: float = 1e-4, head_lr: float = 1e-3,
                  batch_size: int = 32, seed: int = 0, device: torch.device | str = "cpu") -> dict:
    """Fine-tune `model` (its `encode` output → probe head) end to end on a few labelled images; score the test set.

    The caller passes a fresh copy of the pre-trained model for every run. AdamW, encoder lr `lr`, head lr `head_lr`,
    weight decay 0.05, mini-batches drawn with replacement (K·classes may be smaller than a batch).
    """
    torch.manual_seed(seed)
    head = probe_head(dim, num_classes).to(device)
    for param in model.parameters():
        param.requires_grad_(True)
    opt = torch.optim.AdamW([{"params": model.parameters(), "lr": lr},
                             {"params": head.parameters(), "lr": head_lr}], weight_decay=0.05)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    head.train()
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        idx = torch.randint(len(train_x), (min(batch_size, max(2, len(train_x))),), generator=g)
        opt.zero_grad()
        loss_fn(head(encode(train_x[idx].to(device))), train_y[idx].to(device)).backward()
        opt.step()
    model.eval()
    head.eval()
    with torch.no_grad():
        logits = torch.cat([head(encode(chunk.to(device))).cpu() for chunk in test_x.split(256)])
    report = classification_report(logits, test_y)
    return {"top1": report["top1"], "macro_f1": report["macro_f1"]}
