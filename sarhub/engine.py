"""The training engine every task uses: epochs, AMP, gradient clipping, exact resume; the rest through callbacks.

A task supplies a `step_fn(model, batch) -> loss` and an `evaluate_fn(model) -> metrics dict`; the engine owns the
loop. Each epoch re-seeds every RNG from (seed, epoch, rank), so a run resumed from the checkpoint of epoch e
replays epochs e+1... exactly as an uninterrupted run would (same data order, augmentations, DRAE draws).
Checkpoints, log files, TensorBoard and early stopping are `sarhub.callbacks`, chosen from the `FitConfig`; a
caller adds its own callbacks to `fit`.
"""
from __future__ import annotations

import contextlib
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import torch
from torch import nn
from tqdm import tqdm

from sarhub.callbacks import Callback, Checkpointer, EarlyStopping, LogFiles, RunState, TensorBoard
from sarhub.checkpoints import load_checkpoint, plain
from sarhub.config import RunOptions, identity, leaves
from sarhub.distributed import DistEnv, barrier, cleanup, init_distributed, seed_everything, unwrap
from sarhub.errors import ConfigError, TrainingError, WeightsError
from sarhub.rundir import changed_settings, claim_run_dir

StepFn = Callable[[nn.Module, Any], torch.Tensor]
EvalFn = Callable[[nn.Module], dict[str, float]]


@dataclass
class FitConfig:
    epochs: int
    output_dir: Path
    seed: int = 0
    monitor: str = "top1"  # metric of evaluate_fn that selects checkpoint_best
    monitor_mode: str = "max"
    amp: bool = False  # bf16 autocast (CUDA, or a CPU with bf16 instructions)
    clip_grad: float | None = None
    scheduler_interval: str = "step"  # "step" (OneCycle, warm-up) or "epoch" (StepLR)
    save_every: int = 0  # also keep checkpoint_epoch{E}.pth every this many epochs (explainer series)
    eval_every: int = 1
    resume: str | None = None  # a checkpoint path, or "auto" for output_dir/checkpoint_last.pth if present
    log_every: int = 10
    overwrite: bool = False  # replace the checkpoints a previous run left in output_dir (else refused)
    tensorboard: bool = False  # also log to output_dir/tensorboard
    early_stop: int = 0  # end after this many evaluations without a new best monitored value (0: never)
    identity: tuple[str, ...] = ()  # args that must match the resumed run's (`sarhub.config.identity`)
    accept_changes: bool = False  # resume although identity args differ; the change is recorded in args.json
    frozen: tuple[str, ...] = ()  # identity args held in the optimiser/scheduler state: never changed on resume

    @classmethod
    def of(cls, cfg: Any, epochs: int, **task: Any) -> FitConfig:
        """The engine settings of a task config `cfg` (its `run` options and identity); `task` gives the rest
        (monitor, scheduler interval, clipping) and may replace any of them."""
        run: RunOptions = cfg.run
        shared = {"epochs": epochs, "output_dir": Path(run.output or "."), "seed": run.seed, "amp": run.amp,
                  "resume": run.resume, "save_every": run.save_every, "eval_every": run.eval_every,
                  "overwrite": run.overwrite, "tensorboard": run.tensorboard, "early_stop": run.early_stop,
                  "identity": identity(cfg), "accept_changes": run.accept_changes,
                  "frozen": tuple(name for name in leaves(type(cfg.optim)) if name not in RESCHEDULABLE)}
        return cls(**{**shared, **task})


# optimisation settings a resumed run can honour when asked (--accept-changes): the loader and the learning rate;
# every other one lives in the optimiser or scheduler state of the checkpoint
RESCHEDULABLE = ("epochs", "iterations", "batch_size", "eval_batch_size", "lr", "eval_interval")


@contextlib.contextmanager
def start_run(cfg: Any) -> Iterator[DistEnv]:
    """Open a training run of task config `cfg` before anything is read or written: join the process group, hold
    the output folder (`claim_run_dir`), refuse a resume whose settings differ from the run's args.json (unless
    `accept_changes`), and seed every RNG from the seed, so the initial weights and heads are the seed's."""
    run: RunOptions = cfg.run
    env = init_distributed(run.device)
    try:
        with claim_run_dir(run.output, run.resume, run.overwrite, env.is_main):
            if env.is_main and run.resume and not run.accept_changes:
                _refuse_changes(Path(run.output), run.resume, cfg.saved(), identity(cfg))
            barrier()
            seed_everything(run.seed + env.rank)
            yield env
    finally:
        cleanup()


def _refuse_changes(out: Path, resume: str, now: dict, names: Sequence[str]) -> None:
    folder = out if resume == "auto" else Path(resume).parent
    path = folder / "args.json"
    if not path.is_file():
        return
    try:
        saved = json.loads(path.read_text())
    except json.JSONDecodeError:
        return
    if saved.get("task") and now.get("task") and saved["task"] != now["task"]:
        raise WeightsError(folder, f"holds a {saved['task']} run, not a {now['task']} one: resume it with its own "
                                   "task's script, or choose another output folder")
    changes = changed_settings(saved, now, names)
    if changes:
        name = changes[0].split(":", 1)[0]
        raise ConfigError(name, f"differs from the run being resumed in {folder} ({'; '.join(changes)}); resume with "
                                "the run's own settings, or accept the change (accept_changes, --accept-changes; "
                                "recorded in args.json)")


def default_callbacks(cfg: FitConfig) -> list[Callback]:
    """The callbacks a FitConfig asks for, in the order they must run (checkpoint, logs, then the stop rule)."""
    callbacks: list[Callback] = [Checkpointer(cfg.save_every, cfg.overwrite), LogFiles()]
    if cfg.tensorboard:
        callbacks.append(TensorBoard(cfg.log_every))
    if cfg.early_stop:
        callbacks.append(EarlyStopping(cfg.early_stop, cfg.monitor, cfg.monitor_mode))
    return callbacks


def train_one_epoch(model: nn.Module, loader: Iterable, step_fn: StepFn, optimizer: torch.optim.Optimizer,
                    scheduler: Any, env: DistEnv, epoch: int, cfg: FitConfig, global_step: int,
                    on_step: Callable[[int, torch.Tensor], None] | None = None) -> tuple[dict, int]:
    """One pass over `loader`; `on_step(global_step, loss)` after every optimiser step. Returns (row, global_step)."""
    model.train()
    total = len(loader) if hasattr(loader, "__len__") else None
    bar = tqdm(loader, total=total, desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not env.is_main,
               dynamic_ncols=True, leave=False)
    loss_sum = torch.zeros((), device=env.device)
    steps, samples, start = 0, 0, time.perf_counter()
    autocast = torch.autocast(device_type=env.device.type, dtype=torch.bfloat16, enabled=cfg.amp)
    for batch in bar:
        with autocast:
            loss = step_fn(model, batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.clip_grad:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_grad)
        optimizer.step()
        if scheduler is not None and cfg.scheduler_interval == "step":
            scheduler.step()
        loss_sum += loss.detach()
        steps += 1
        global_step += 1
        if on_step is not None:
            on_step(global_step, loss.detach())
        samples += _batch_size(batch)
        if env.is_main and steps % cfg.log_every == 0:
            bar.set_postfix(loss=f"{loss_sum.item() / steps:.4f}", lr=f"{optimizer.param_groups[0]['lr']:.2e}")
    if scheduler is not None and cfg.scheduler_interval == "epoch":
        scheduler.step()
    seconds = time.perf_counter() - start
    mean_loss = loss_sum.item() / max(steps, 1)
    if not math.isfinite(mean_loss):
        raise TrainingError(None, f"training loss became {mean_loss} in epoch {epoch + 1}; lower the learning rate")
    return {"train_loss": mean_loss, "lr": optimizer.param_groups[0]["lr"], "epoch_seconds": seconds,
            "train_samples_per_s": samples * env.world_size / max(seconds, 1e-9)}, global_step


def _batch_size(batch: Any) -> int:
    if isinstance(batch, dict):
        batch = batch.get("image", next(iter(batch.values())))
    if isinstance(batch, (list, tuple)):
        return len(batch[0]) if isinstance(batch[0], (torch.Tensor, list, tuple)) else len(batch)
    return len(batch)


# Schedules that do not depend on the run's length: a finished run can be extended with more epochs.
EXTENSIBLE_SCHEDULERS = ("StepLR", "MultiStepLR", "ExponentialLR", "ConstantLR")


def fit(model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any, train_loader: Iterable,
        step_fn: StepFn, evaluate_fn: EvalFn | None, env: DistEnv, cfg: FitConfig,
        args: dict | None = None, sampler: Any = None, callbacks: Sequence[Callback] = ()) -> list[dict]:
    """Train for cfg.epochs (resuming if asked), evaluating every cfg.eval_every epochs; after each epoch the
    callbacks run: `default_callbacks(cfg)` (checkpoint_last/best/epoch{E}.pth, args.json, log.csv/log.json,
    optional TensorBoard and early stopping), then `callbacks`. The folder is held for the run (`sarhub.rundir`):
    checkpoints of another run are never replaced without --overwrite. Returns the history.
    """
    with claim_run_dir(cfg.output_dir, cfg.resume, cfg.overwrite, env.is_main):
        return _fit(model, optimizer, scheduler, train_loader, step_fn, evaluate_fn, env, cfg, args, sampler,
                    [*default_callbacks(cfg), *callbacks])


def _resume(resume: str, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any,
            cfg: FitConfig) -> dict:
    """Load a checkpoint into model, optimiser and scheduler; DataError (one line) for every way it cannot fit."""
    state = load_checkpoint(resume)
    missing = [k for k in ("model", "optimizer", "epoch") if k not in state]
    if missing:
        raise WeightsError(resume, f"cannot be resumed: it lacks {', '.join(missing)} (a weights-only file? start a "
                                "new run from it with --weights)")
    try:
        unwrap(model).load_state_dict(state["model"])
    except RuntimeError as exc:
        raise WeightsError(resume, "does not fit this model/dataset (trained with other settings or another task?): "
                                f"{str(exc).splitlines()[-1].strip()}") from None
    try:
        optimizer.load_state_dict(state["optimizer"])
    except (ValueError, KeyError) as exc:
        raise WeightsError(resume, f"its optimiser state does not fit this run ({exc})") from None
    done, saved_epochs = int(state["epoch"]), (state.get("args") or {}).get("epochs")
    if done > cfg.epochs:
        raise ConfigError("epochs", f"{cfg.epochs} is fewer than the {done} epochs {resume} has already run")
    if scheduler is not None and state.get("scheduler") is not None:
        kind = type(scheduler).__name__
        if saved_epochs not in (None, cfg.epochs) and done < cfg.epochs and kind not in EXTENSIBLE_SCHEDULERS:
            raise ConfigError("epochs", f"{resume}: its {kind} learning-rate schedule was sized for {saved_epochs} epochs, so it "
                                    f"cannot be extended to {cfg.epochs}; start a new run from its weights "
                                    f"(weights {resume})")
        scheduler.load_state_dict(state["scheduler"])
    return state


def _rescale_lr(optimizer: torch.optim.Optimizer, scheduler: Any, old: float | None, new: float | None) -> None:
    """An accepted learning-rate change on resume: every group's current, initial and peak rates (and the
    scheduler's base rates) scale by new/old, so the schedule continues at the new level."""
    if not old or not new or old == new:
        return
    ratio = new / old
    for group in optimizer.param_groups:
        for key in ("lr", "initial_lr", "max_lr", "min_lr"):
            if key in group:
                group[key] *= ratio
    if scheduler is not None and hasattr(scheduler, "base_lrs"):
        scheduler.base_lrs = [lr * ratio for lr in scheduler.base_lrs]
    if scheduler is not None and hasattr(scheduler, "_last_lr"):
        scheduler._last_lr = [group["lr"] for group in optimizer.param_groups]


def _fit(model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any, train_loader: Iterable,
         step_fn: StepFn, evaluate_fn: EvalFn | None, env: DistEnv, cfg: FitConfig,
         args: dict | None, sampler: Any, callbacks: list[Callback]) -> list[dict]:
    if hasattr(train_loader, "__len__") and len(train_loader) == 0:
        raise ConfigError("batch_size", "the training set gives no full batch: the run would take zero optimiser "
                                        "steps (lower the batch size or add data)")
    run = RunState(model, optimizer, scheduler, env, Path(cfg.output_dir), cfg.epochs, args,
                   best=-math.inf if cfg.monitor_mode == "max" else math.inf)
    resume = cfg.resume
    if resume == "auto":
        last = run.output_dir / "checkpoint_last.pth"
        resume = str(last) if last.is_file() else None
    if resume:
        state = _resume(resume, model, optimizer, scheduler, cfg)
        run.epoch, run.global_step = int(state["epoch"]), int(state.get("global_step", 0))
        run.history, run.best = list(state.get("history", [])), state.get("best", run.best)
        saved = state.get("args") or {}
        if saved.get("task") and (args or {}).get("task") and saved["task"] != args["task"]:
            raise WeightsError(resume, f"is a {saved['task']} checkpoint, not a {args['task']} one")
        changes = changed_settings(saved, args or {}, cfg.identity)
        frozen = changed_settings(saved, args or {}, cfg.frozen)
        if frozen:
            raise ConfigError(frozen[0].split(":", 1)[0], f"cannot change on resume ({'; '.join(frozen)}): it lives "
                                                         f"in the optimiser state; start a new run from its weights "
                                                         f"(weights {resume})")
        if changes and not cfg.accept_changes:
            raise ConfigError(changes[0].split(":", 1)[0], f"differs from the run being resumed ({'; '.join(changes)})"
                                                          "; resume with its own settings, or accept_changes (--accept-changes)")
        if changes and args is not None:
            _rescale_lr(optimizer, scheduler, saved.get("lr"), args.get("lr"))
            run.args = {**args, "changes": [*saved.get("changes", []), {"epoch": run.epoch, "settings": changes}]}
        if env.is_main:
            print(f"resumed from {resume} at epoch {run.epoch}"
                  + (" (already complete)" if run.epoch == cfg.epochs else ""))
    for callback in callbacks:
        callback.on_fit_start(run)

    def on_step(step: int, loss: torch.Tensor) -> None:
        run.global_step = step
        for callback in callbacks:
            callback.on_step_end(run, loss)

    while run.epoch < cfg.epochs and not run.stop:
        epoch = run.epoch
        seed_everything(cfg.seed + 1000 * epoch + env.rank)
        if sampler is not None and hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
        row, run.global_step = train_one_epoch(model, train_loader, step_fn, optimizer, scheduler, env, epoch, cfg,
                                               run.global_step, on_step)
        row = {"epoch": epoch + 1, **row}
        if evaluate_fn is not None and ((epoch + 1) % cfg.eval_every == 0 or epoch + 1 == cfg.epochs):
            start = time.perf_counter()
            row.update(evaluate_fn(model))
            row["eval_seconds"] = time.perf_counter() - start
        run.improved = False
        if cfg.monitor in row:
            value = row[cfg.monitor]
            run.improved = value > run.best if cfg.monitor_mode == "max" else value < run.best
            run.best = value if run.improved else run.best
        run.epoch = epoch + 1
        run.history.append(plain(row))
        for callback in callbacks:
            callback.on_epoch_end(run, row)
    for callback in callbacks:
        callback.on_fit_end(run)
    return run.history
