"""The training engine every task uses: epochs, AMP, gradient clipping, atomic checkpoints, exact resume, logs.

A task supplies a `step_fn(model, batch) -> loss` and an `evaluate_fn(model) -> metrics dict`; the engine owns
everything else. Each epoch re-seeds every RNG from (seed, epoch, rank), so a run resumed from the checkpoint of
epoch e replays epochs e+1... exactly as an uninterrupted run would (same data order, augmentations, DRAE draws).
Checkpoints hold only tensors and plain values and are written to a temporary file then renamed, so a crash never
leaves a half-written checkpoint, and they load with `weights_only=True`.
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import torch
from torch import nn
from tqdm import tqdm

from sarhub.distributed import DistEnv, seed_everything, unwrap
from sarhub.errors import DataError
from sarhub.rundir import claim_run_dir, clear_previous_run

StepFn = Callable[[nn.Module, Any], torch.Tensor]
EvalFn = Callable[[nn.Module], dict[str, float]]


def atomic_write_bytes(path: str | Path, write: Callable[[Any], None]) -> None:
    """Write through `write(file)` into a temporary sibling, fsync, then rename over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk or an interrupt leaves neither a half file nor an orphan
        raise


def save_checkpoint(state: dict, path: str | Path) -> None:
    atomic_write_bytes(path, lambda f: torch.save(state, f))


def load_checkpoint(path: str | Path) -> dict:
    """Load one of our checkpoints with weights_only=True (never executes pickled code)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "checkpoint not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise DataError(path, f"not a readable checkpoint ({str(exc).splitlines()[0]})") from exc
    if not isinstance(state, dict):
        raise DataError(path, f"not a checkpoint of this project (holds a {type(state).__name__})")
    weights = state.get("model")
    if isinstance(weights, dict):  # NaN weights would be scored, explained or resumed as if they were a model
        bad = [k for k, v in weights.items() if isinstance(v, torch.Tensor) and v.is_floating_point()
               and not torch.isfinite(v).all()]
        if bad:
            raise DataError(path, f"model weights hold NaN/inf ({bad[0]}{', …' if len(bad) > 1 else ''})")
    return state


def write_text_atomic(path: Path, text: str) -> None:
    atomic_write_bytes(path, lambda f: f.write(text.encode()))


def plain(value: Any) -> Any:
    """Args/metrics as JSON- and weights_only-safe plain values."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    return str(value)


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


def train_one_epoch(model: nn.Module, loader: Iterable, step_fn: StepFn, optimizer: torch.optim.Optimizer,
                    scheduler: Any, env: DistEnv, epoch: int, cfg: FitConfig, global_step: int) -> tuple[dict, int]:
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
        samples += _batch_size(batch)
        if env.is_main and steps % cfg.log_every == 0:
            bar.set_postfix(loss=f"{loss_sum.item() / steps:.4f}", lr=f"{optimizer.param_groups[0]['lr']:.2e}")
    if scheduler is not None and cfg.scheduler_interval == "epoch":
        scheduler.step()
    seconds = time.perf_counter() - start
    mean_loss = loss_sum.item() / max(steps, 1)
    if not math.isfinite(mean_loss):
        raise DataError(None, f"training loss became {mean_loss} in epoch {epoch + 1}; lower the learning rate")
    return {"train_loss": mean_loss, "lr": optimizer.param_groups[0]["lr"], "epoch_seconds": seconds,
            "train_samples_per_s": samples * env.world_size / max(seconds, 1e-9)}, global_step


def _batch_size(batch: Any) -> int:
    if isinstance(batch, dict):
        batch = batch.get("image", next(iter(batch.values())))
    if isinstance(batch, (list, tuple)):
        return len(batch[0]) if isinstance(batch[0], (torch.Tensor, list, tuple)) else len(batch)
    return len(batch)


def _write_logs(output_dir: Path, history: list[dict]) -> None:
    write_text_atomic(output_dir / "log.json", json.dumps(history, indent=1))
    keys: list[str] = []
    for row in history:
        keys += [k for k in row if k not in keys]
    lines = [",".join(keys)]
    for row in history:
        lines.append(",".join(_fmt(row.get(k, "")) for k in keys))
    write_text_atomic(output_dir / "log.csv", "\n".join(lines) + "\n")


def _fmt(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


# Schedules that do not depend on the run's length: a finished run can be extended with more epochs.
EXTENSIBLE_SCHEDULERS = ("StepLR", "MultiStepLR", "ExponentialLR", "ConstantLR")


def fit(model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any, train_loader: Iterable,
        step_fn: StepFn, evaluate_fn: EvalFn | None, env: DistEnv, cfg: FitConfig,
        args: dict | None = None, sampler: Any = None) -> list[dict]:
    """Train for cfg.epochs (resuming if asked), evaluating, logging and checkpointing after every epoch.

    Writes `checkpoint_last.pth` (model, optimiser, scheduler, epoch, history, args), `checkpoint_best.pth` on the
    monitored metric, optional `checkpoint_epoch{E}.pth`, and `log.csv`/`log.json` (rewritten from the history
    stored in the checkpoint, so a resumed run neither loses nor duplicates rows); `args.json` is written with the
    first checkpoint, so a run that fails before it leaves the folder as it was. The folder is held for the run
    (`sarhub.rundir`): checkpoints of another run are never replaced without --overwrite. Returns the history.
    """
    with claim_run_dir(cfg.output_dir, cfg.resume, cfg.overwrite, env.is_main):
        return _fit(model, optimizer, scheduler, train_loader, step_fn, evaluate_fn, env, cfg, args, sampler)


def _resume(resume: str, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any,
            cfg: FitConfig) -> dict:
    """Load a checkpoint into model, optimiser and scheduler; DataError (one line) for every way it cannot fit."""
    state = load_checkpoint(resume)
    missing = [k for k in ("model", "optimizer", "epoch") if k not in state]
    if missing:
        raise DataError(resume, f"cannot be resumed: it lacks {', '.join(missing)} (a weights-only file? start a "
                                "new run from it with --weights)")
    try:
        unwrap(model).load_state_dict(state["model"])
    except RuntimeError as exc:
        raise DataError(resume, "does not fit this model/dataset (trained with other settings or another task?): "
                                f"{str(exc).splitlines()[-1].strip()}") from None
    try:
        optimizer.load_state_dict(state["optimizer"])
    except (ValueError, KeyError) as exc:
        raise DataError(resume, f"its optimiser state does not fit this run ({exc})") from None
    done, saved_epochs = int(state["epoch"]), (state.get("args") or {}).get("epochs")
    if done > cfg.epochs:
        raise DataError(resume, f"is at epoch {done}, beyond --epochs {cfg.epochs}")
    if scheduler is not None and state.get("scheduler") is not None:
        kind = type(scheduler).__name__
        if saved_epochs not in (None, cfg.epochs) and done < cfg.epochs and kind not in EXTENSIBLE_SCHEDULERS:
            raise DataError(resume, f"its {kind} learning-rate schedule was sized for {saved_epochs} epochs, so it "
                                    f"cannot be extended to {cfg.epochs}; start a new run from its weights "
                                    f"(--weights {resume})")
        scheduler.load_state_dict(state["scheduler"])
    return state


def _fit(model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any, train_loader: Iterable,
         step_fn: StepFn, evaluate_fn: EvalFn | None, env: DistEnv, cfg: FitConfig,
         args: dict | None, sampler: Any) -> list[dict]:
    out = Path(cfg.output_dir)
    history: list[dict] = []
    start_epoch, global_step = 0, 0
    best = -math.inf if cfg.monitor_mode == "max" else math.inf
    if hasattr(train_loader, "__len__") and len(train_loader) == 0:
        raise DataError(None, "the training set gives no full batch: the run would take zero optimiser steps "
                              "(lower --batch-size or add data)")
    resume = cfg.resume
    if resume == "auto":
        resume = str(out / "checkpoint_last.pth") if (out / "checkpoint_last.pth").is_file() else None
    if resume:
        state = _resume(resume, model, optimizer, scheduler, cfg)
        start_epoch, global_step = int(state["epoch"]), int(state.get("global_step", 0))
        history = list(state.get("history", []))
        best = state.get("best", best)
        if env.is_main:
            print(f"resumed from {resume} at epoch {start_epoch}"
                  + (" (already complete)" if start_epoch == cfg.epochs else ""))
    args_written = False
    for epoch in range(start_epoch, cfg.epochs):
        seed_everything(cfg.seed + 1000 * epoch + env.rank)
        if sampler is not None and hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
        row, global_step = train_one_epoch(model, train_loader, step_fn, optimizer, scheduler, env, epoch, cfg,
                                           global_step)
        row = {"epoch": epoch + 1, **row}
        if evaluate_fn is not None and ((epoch + 1) % cfg.eval_every == 0 or epoch + 1 == cfg.epochs):
            start = time.perf_counter()
            row.update(evaluate_fn(model))
            row["eval_seconds"] = time.perf_counter() - start
        improved = False
        if cfg.monitor in row:
            value = row[cfg.monitor]
            improved = value > best if cfg.monitor_mode == "max" else value < best
            best = value if improved else best
        history.append(plain(row))
        if env.is_main:
            state = {
                "model": unwrap(model).state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict() if scheduler is not None else None,
                "epoch": epoch + 1, "global_step": global_step, "best": best, "history": history,
                "args": plain(args or {}),
            }
            if not args_written and cfg.overwrite:
                clear_previous_run(out)
            save_checkpoint(state, out / "checkpoint_last.pth")
            if not args_written and args is not None:
                write_text_atomic(out / "args.json", json.dumps(plain(args), indent=1))
            args_written = True
            if improved:
                save_checkpoint(state, out / "checkpoint_best.pth")
            if cfg.save_every and (epoch + 1) % cfg.save_every == 0:
                save_checkpoint(state, out / f"checkpoint_epoch{epoch + 1}.pth")
            _write_logs(out, history)
            summary = ", ".join(f"{k}={_fmt(v)}" for k, v in row.items() if k != "epoch")
            print(f"epoch {epoch + 1}/{cfg.epochs}: {summary}", flush=True)
    return history
