"""Classification building blocks shared by scene pre-training, target recognition and the predecessor's tools:
transforms, the on-device batch preprocessing (gamma test → DRAE → mean/std), data loaders (DDP-aware, balanced
sampling), the optimiser recipes, step and evaluation functions, and the confusion-matrix figure."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Subset
from torchvision.transforms import v2

from sarhub.distributed import DistEnv, ShardSampler, all_gather_objects
from sarhub.drae import DRAE, DRAEConfig, gamma_transform


def build_transform(img_size: int, train: bool, augment: bool = True) -> v2.Compose:
    """Resize to 1.125× then random (train) or centre crop to `img_size`, random flips in training."""
    resize = int(round(img_size * 1.125)) if augment else img_size
    ops: list[Any] = [v2.Resize((resize, resize), antialias=True)]
    if train and augment:
        ops += [v2.RandomCrop(img_size), v2.RandomHorizontalFlip(), v2.RandomVerticalFlip()]
    elif augment:
        ops.append(v2.CenterCrop(img_size))
    return v2.Compose(ops)


def log_transform(x: torch.Tensor, scale: float = 1000.0) -> torch.Tensor:
    """log(1 + s·x)/log(1 + s): the predecessor's log compression of 16-bit data, on [0, 1] inputs."""
    return torch.log1p(scale * x.clamp_min(0)) / math.log1p(scale)


class Preprocess(nn.Module):
    """On-device batch preprocessing: optional γ perturbation (robustness test) → DRAE or log transform →
    per-dataset mean/std. DRAE follows this module's train/eval mode."""

    def __init__(self, drae: DRAEConfig, mean: Sequence[float], std: Sequence[float], log_scale: float = 0.0):
        super().__init__()
        self.drae = DRAE(drae)
        self.log_scale = log_scale
        self.gamma: float | None = None
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def enhance(self, x: torch.Tensor) -> torch.Tensor:
        if self.gamma is not None:
            x = gamma_transform(x, self.gamma)
        if self.log_scale:
            x = log_transform(x, self.log_scale)
        return self.drae(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.enhance(x) - self.mean) / self.std


@torch.no_grad()
def normalisation_stats(dataset: Dataset, preprocess: Preprocess, max_images: int = 2000, seed: int = 0,
                        batch_size: int = 64) -> tuple[list[float], list[float]]:
    """Per-channel mean/std of the training split after test-time enhancement (a seeded subsample of at most
    `max_images` images; the authors' hard-coded constants are wrong for BEN, so they are always measured)."""
    n = len(dataset)
    generator = torch.Generator().manual_seed(seed)
    indices = torch.randperm(n, generator=generator)[:max_images].tolist()
    loader = DataLoader(Subset(dataset, indices), batch_size=batch_size, num_workers=0)
    was_training = preprocess.training
    preprocess.eval()
    total = total_sq = count = 0
    for batch in loader:
        x = preprocess.enhance(batch["image"].float()).double()
        total = total + x.sum(dim=(0, 2, 3))
        total_sq = total_sq + (x**2).sum(dim=(0, 2, 3))
        count += x.shape[0] * x.shape[2] * x.shape[3]
    preprocess.train(was_training)
    mean = total / count
    std = (total_sq / count - mean**2).clamp_min(1e-12).sqrt()
    return mean.tolist(), std.tolist()


def cached_normalisation_stats(path: Path, dataset: Dataset, preprocess: Preprocess, seed: int = 0) -> tuple[list, list]:
    """Compute once per run folder and reuse (also on resume and in test.py, which reads it from the checkpoint)."""
    if path.is_file():
        stats = json.loads(path.read_text())
        return stats["mean"], stats["std"]
    mean, std = normalisation_stats(dataset, preprocess, seed=seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"mean": mean, "std": std}))
    return mean, std


def train_loader(dataset: Dataset, batch_size: int, workers: int, env: DistEnv, seed: int,
                 sampler: Any = None) -> tuple[DataLoader, Any]:
    """Shuffled training loader; a DistributedSampler under DDP unless a custom (DDP-aware) sampler is given."""
    if sampler is None and env.distributed:
        sampler = DistributedSampler(dataset, num_replicas=env.world_size, rank=env.rank, shuffle=True, seed=seed,
                                     drop_last=True)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=sampler is None, sampler=sampler,
                        num_workers=workers, pin_memory=env.device.type == "cuda", drop_last=len(dataset) > batch_size,
                        persistent_workers=workers > 0)
    return loader, sampler


def eval_loader(dataset: Dataset, batch_size: int, workers: int, env: DistEnv) -> DataLoader:
    return DataLoader(dataset, batch_size=batch_size, sampler=ShardSampler(len(dataset), env.rank, env.world_size),
                      num_workers=workers, pin_memory=env.device.type == "cuda")


def classification_step(preprocess: Preprocess, loss_fn: nn.Module, device: torch.device,
                        channels_last: bool = False):
    """The engine's step_fn for classifiers: move, preprocess (DRAE draws in train mode), forward, loss."""
    def step(model: nn.Module, batch: dict) -> torch.Tensor:
        x = batch["image"].to(device, non_blocking=True)
        y = batch["label"].to(device, non_blocking=True)
        preprocess.train()
        x = preprocess(x)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return loss_fn(model(x), y)
    return step


@torch.no_grad()
def predict(model: nn.Module, loader: DataLoader, preprocess: Preprocess, device: torch.device,
            amp: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and targets of the whole (sharded) evaluation set, gathered in dataset order on every rank."""
    model.eval()
    preprocess.eval()
    logits, targets = [], []
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp and device.type == "cuda"):
        for batch in loader:
            x = preprocess(batch["image"].to(device, non_blocking=True))
            logits.append(model(x).float().cpu())
            targets.append(torch.as_tensor(batch["label"]).cpu())
    local = (loader.sampler.indices if isinstance(loader.sampler, ShardSampler) else list(range(len(loader.dataset))),
             torch.cat(logits), torch.cat(targets))
    parts = all_gather_objects(local)
    order = torch.tensor([i for part in parts for i in part[0]])
    all_logits = torch.cat([p[1] for p in parts])[order.argsort()]
    all_targets = torch.cat([p[2] for p in parts])[order.argsort()]
    return all_logits, all_targets


def freeze_backbone(model: nn.Module) -> None:
    """Linear probe / last-layer fine-tuning: every module but the classifier is frozen, BatchNorm statistics
    included (timm turns them into FrozenBatchNorm2d), so training changes nothing but the head."""
    from timm.utils.model import freeze

    head = model.get_classifier()
    freeze(model, [name for name, module in model.named_children() if module is not head])


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """No weight decay on norms, biases and position tables (the usual AdamW practice, as in timm/MAE)."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        skip = param.ndim <= 1 or name.endswith(".bias") or "relative_position_bias_table" in name
        (no_decay if skip else decay).append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def adamw_onecycle(model: nn.Module, max_lr: float, total_steps: int, weight_decay: float = 0.05,
                   div_factor: float = 5.0, pct_start: float = 0.3):
    """The paper's pre-training recipe: AdamW + OneCycleLR with cosine annealing from max_lr/div_factor
    (CNNs 5e-5 → 2.5e-4, Swin 5e-6 → 2.5e-5). `total_steps` is this run's real number of optimiser steps
    (epochs × batches per process); the authors' formula mis-sized the cycle under several GPUs."""
    optimizer = torch.optim.AdamW(param_groups(model, weight_decay), lr=max_lr / div_factor)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=max_lr, total_steps=max(total_steps, 1),
                                                    pct_start=pct_start, anneal_strategy="cos",
                                                    div_factor=div_factor)
    return optimizer, scheduler


def save_confusion_png(cm: torch.Tensor, classes: Sequence[str], path: Path, title: str = "") -> None:
    """Row-normalised confusion matrix as a PNG (rows true, columns predicted)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    norm = cm.double() / cm.sum(dim=1, keepdim=True).clamp_min(1)
    n = len(classes)
    size = max(4.0, 0.35 * n + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(norm.numpy(), cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(n), classes, rotation=90, fontsize=7)
    ax.set_yticks(range(n), classes, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if n <= 20:
        for i in range(n):
            for j in range(n):
                if cm[i, j]:
                    ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=6,
                            color="white" if norm[i, j] > 0.5 else "black")
    ax.set_title(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
