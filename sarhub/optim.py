"""Optimiser parameter groups and the pre-training optimiser: one rule for which parameters take weight decay."""
from __future__ import annotations

import torch
from torch import nn


def decays(name: str, param: nn.Parameter) -> bool:
    """Weight decay applies to weight matrices and kernels only: not to norms, biases or Swin's relative-position
    tables (the usual AdamW practice, as in timm/MAE, and MMDetection's)."""
    return param.ndim > 1 and not name.endswith(".bias") and "relative_position_bias_table" not in name


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Two groups: the parameters that `decays`, at `weight_decay`, and the rest at 0."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if param.requires_grad:
            (decay if decays(name, param) else no_decay).append(param)
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
