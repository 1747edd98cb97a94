"""Learning-rate multipliers of the task recipes, for `torch.optim.lr_scheduler.LambdaLR` (plain closures, so a
scheduler's state_dict stays free of them, as before)."""
from __future__ import annotations

import math
from typing import Callable, Sequence


def warmup_step_decay(warmup_iters: int, warmup_ratio: float, steps_per_epoch: int, lr_steps: Sequence[int],
                      factor: float = 0.1) -> Callable[[int], float]:
    """MMDetection's detection schedule per iteration: linear warm-up from `warmup_ratio`, then ×`factor` at each
    epoch of `lr_steps`."""
    def multiplier(it: int) -> float:
        warm = min(1.0, warmup_ratio + (1 - warmup_ratio) * it / max(warmup_iters, 1))
        return warm * factor ** sum(it // steps_per_epoch >= e for e in lr_steps)
    return multiplier


def poly(iterations: int, power: float, floor: float) -> Callable[[int], float]:
    """MMSegmentation's poly decay to `floor` (min lr / lr) over `iterations`."""
    def multiplier(it: int) -> float:
        return (1 - floor) * (1 - min(it, iterations) / iterations) ** power + floor
    return multiplier


def warmup_cosine(warmup: int, total: int) -> Callable[[int], float]:
    """MAE's schedule per iteration: linear warm-up over `warmup` steps, then cosine to zero at `total`."""
    def multiplier(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))
    return multiplier
