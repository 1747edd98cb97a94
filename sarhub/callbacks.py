"""What a training run does besides training, as callbacks `sarhub.engine.fit` calls: checkpoints, the log files,
TensorBoard, early stopping. A test or a user adds their own (an injected crash, a custom logger) without a hook
in the engine's body.

Order matters and is fixed by `fit`: the checkpoint is written before the logs, so a crash while logging never
loses an epoch, and early stopping decides last, from the history the checkpoint already holds.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from sarhub.checkpoints import plain, save_checkpoint, write_text_atomic
from sarhub.distributed import DistEnv, unwrap
from sarhub.errors import ConfigError
from sarhub.rundir import clear_previous_run


@dataclass
class RunState:
    """What callbacks see of a run: its live objects and its progress (epochs done, optimiser steps, history)."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any
    env: DistEnv
    output_dir: Path
    epochs: int  # planned
    args: dict | None = None
    epoch: int = 0  # epochs done
    global_step: int = 0
    history: list[dict] = field(default_factory=list)
    best: float = -math.inf
    improved: bool = False  # the epoch just ended set a new best monitored value
    stop: bool = False  # a callback asks the run to end after this epoch

    def checkpoint(self) -> dict:
        """The checkpoint of the run as it stands (everything resume needs)."""
        return {"model": unwrap(self.model).state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
                "epoch": self.epoch, "global_step": self.global_step, "best": self.best, "history": self.history,
                "args": plain(self.args or {})}


class Callback:
    """Hooks `fit` calls; override the ones you need. `on_step_end` gets the step's loss as a device tensor
    (reading it with .item() syncs the device every step: only do that when you need it)."""

    def on_fit_start(self, run: RunState) -> None:
        pass

    def on_step_end(self, run: RunState, loss: torch.Tensor) -> None:
        pass

    def on_epoch_end(self, run: RunState, row: dict) -> None:
        pass

    def on_fit_end(self, run: RunState) -> None:
        pass


class Checkpointer(Callback):
    """checkpoint_last.pth every epoch, checkpoint_best.pth on a new best, checkpoint_epoch{E}.pth every
    `save_every` epochs; args.json with the first checkpoint (a run that fails before it leaves the folder as it
    was). With `overwrite`, the previous run's files go just before that first checkpoint."""

    def __init__(self, save_every: int = 0, overwrite: bool = False):
        self.save_every, self.overwrite, self.first = save_every, overwrite, True

    def on_epoch_end(self, run: RunState, row: dict) -> None:
        if not run.env.is_main:
            return
        out, state = run.output_dir, run.checkpoint()
        if self.first and self.overwrite:
            clear_previous_run(out)
        save_checkpoint(state, out / "checkpoint_last.pth")
        if self.first and run.args is not None:
            write_text_atomic(out / "args.json", json.dumps(plain(run.args), indent=1))
        self.first = False
        if run.improved:
            save_checkpoint(state, out / "checkpoint_best.pth")
        if self.save_every and run.epoch % self.save_every == 0:
            save_checkpoint(state, out / f"checkpoint_epoch{run.epoch}.pth")


def fmt(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


class LogFiles(Callback):
    """log.json and log.csv rewritten from the whole history (a resumed run neither loses nor duplicates rows),
    and one printed line per epoch."""

    def on_epoch_end(self, run: RunState, row: dict) -> None:
        if not run.env.is_main:
            return
        write_text_atomic(run.output_dir / "log.json", json.dumps(run.history, indent=1))
        keys: list[str] = []
        for past in run.history:
            keys += [k for k in past if k not in keys]
        lines = [",".join(keys)] + [",".join(fmt(past.get(k, "")) for k in keys) for past in run.history]
        write_text_atomic(run.output_dir / "log.csv", "\n".join(lines) + "\n")
        summary = ", ".join(f"{k}={fmt(v)}" for k, v in row.items() if k != "epoch")
        print(f"epoch {run.epoch}/{run.epochs}: {summary}", flush=True)


class TensorBoard(Callback):
    """Every numeric value of the epoch rows, and the training loss every `log_every` steps, as TensorBoard
    scalars in <run>/tensorboard (what users of the authors' code look at). A resumed run purges the events logged
    after its checkpoint, so a crash leaves no doubled curve."""

    def __init__(self, log_every: int = 10):
        self.log_every, self.writer = log_every, None

    def on_fit_start(self, run: RunState) -> None:
        if not run.env.is_main:
            return
        try:
            from torch.utils.tensorboard import SummaryWriter  # optional dependency: only for --tensorboard
        except ImportError:
            raise ConfigError("tensorboard", "needs the tensorboard package (pip install tensorboard)") from None
        self.writer = SummaryWriter(str(run.output_dir / "tensorboard"), purge_step=run.global_step or None)

    def on_step_end(self, run: RunState, loss: torch.Tensor) -> None:
        if self.writer is not None and run.global_step % self.log_every == 0:
            self.writer.add_scalar("train/loss_step", loss.item(), run.global_step)

    def on_epoch_end(self, run: RunState, row: dict) -> None:
        if self.writer is None:
            return
        for key, value in row.items():
            if key != "epoch" and isinstance(value, (int, float)) and not isinstance(value, bool):
                self.writer.add_scalar(f"epoch/{key}", value, run.global_step)
        self.writer.flush()

    def on_fit_end(self, run: RunState) -> None:
        if self.writer is not None:
            self.writer.close()


class EarlyStopping(Callback):
    """End the run when the monitored metric has not improved for `patience` evaluations. The decision is read from
    the history alone, so a run resumed after it stopped stays stopped instead of training on."""

    def __init__(self, patience: int, monitor: str, mode: str = "max"):
        self.patience, self.monitor, self.mode = patience, monitor, mode

    def stale_evaluations(self, history: list[dict]) -> int:
        values = [row[self.monitor] for row in history if self.monitor in row]
        if not values:
            return 0
        best = max(values) if self.mode == "max" else min(values)
        return len(values) - 1 - values.index(best)

    def on_fit_start(self, run: RunState) -> None:
        self.on_epoch_end(run, {})

    def on_epoch_end(self, run: RunState, row: dict) -> None:
        if self.stale_evaluations(run.history) >= self.patience:
            if not run.stop and run.env.is_main:
                print(f"early stop after epoch {run.epoch}: {self.monitor} has not improved for {self.patience} "
                      "evaluations", flush=True)
            run.stop = True
