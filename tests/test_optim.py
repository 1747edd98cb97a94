"""Optimiser parameter groups: weight decay on weight matrices and kernels only; the pre-training AdamW + OneCycle."""
import pytest
import torch
from torch import nn

from sarhub.optim import adamw_onecycle, decays, param_groups


def test_decay_skips_norms_biases_and_relative_position_tables():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.LazyLinear(2))
    model(torch.zeros(1, 1, 5, 5))
    model[1].requires_grad_(False)  # frozen parameters belong to no group
    decay, no_decay = param_groups(model, 0.05)
    assert decay["weight_decay"] == 0.05 and no_decay["weight_decay"] == 0.0
    assert [p.shape for p in decay["params"]] == [(4, 1, 3, 3), (2, 36)]
    assert [p.shape for p in no_decay["params"]] == [(4,), (2,)]  # the two biases
    table = nn.Parameter(torch.zeros(49, 3))
    assert not decays("layers.0.blocks.0.attn.relative_position_bias_table", table)
    assert decays("layers.0.blocks.0.attn.qkv.weight", table)


def test_onecycle_starts_at_max_over_div_and_peaks_after_pct_start():
    model = nn.Linear(3, 2)
    optimizer, scheduler = adamw_onecycle(model, max_lr=2.5e-4, total_steps=10, div_factor=5.0, pct_start=0.3)
    lrs = []
    for _ in range(10):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert lrs[0] == pytest.approx(5e-5) and max(lrs) == pytest.approx(2.5e-4)
    assert lrs.index(max(lrs)) == 2 and lrs[-1] < lrs[0]  # warm-up over 30 % of the steps, then annealed
    assert isinstance(optimizer, torch.optim.AdamW)
