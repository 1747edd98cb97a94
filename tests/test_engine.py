"""The engine in-process: what a run writes, exact resume after a crash, and the callbacks (early stop,
TensorBoard, a caller's own)."""
from __future__ import annotations

import json

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from sarhub.callbacks import Callback, RunState
from sarhub.checkpoints import load_checkpoint
from sarhub.data.loader import seeded_train_loader
from sarhub.distributed import DistEnv
from sarhub.engine import FitConfig, fit

ENV = DistEnv(0, 1, 0, torch.device("cpu"))


class Crash(Exception):
    pass


class CrashAt(Callback):
    """A test's injected crash: raise after optimiser step `step`, as a killed process would stop there."""

    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, run: RunState, loss: torch.Tensor) -> None:
        if run.global_step == self.step:
            raise Crash


def run(tmp, epochs=4, callbacks=(), scores=None, **cfg):
    """A linear classifier on 64 fixed random samples (batch 16: 4 steps per epoch), dropout so RNG state matters."""
    torch.manual_seed(0)
    data = TensorDataset(torch.randn(64, 8), torch.randint(0, 3, (64,)))
    model = nn.Sequential(nn.Dropout(0.3), nn.Linear(8, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 2, 0.5)
    loader, sampler = seeded_train_loader(data, 16, 0, ENV, seed=0)
    scores = iter(scores) if scores is not None else None

    def evaluate(m):
        return {"top1": next(scores)} if scores is not None else {"top1": float(m[1].weight.detach().sum())}

    fit_cfg = FitConfig(epochs=epochs, output_dir=tmp, scheduler_interval="epoch", **cfg)
    history = fit(model, optimizer, scheduler, loader, lambda m, b: nn.functional.cross_entropy(m(b[0]), b[1]),
                  evaluate, ENV, fit_cfg, args={"lr": 0.1}, sampler=sampler, callbacks=callbacks)
    return model, history


def test_fit_writes_checkpoints_logs_and_args(tmp_path):
    _, history = run(tmp_path, epochs=3, save_every=2)
    assert [row["epoch"] for row in history] == [1, 2, 3]
    names = {p.name for p in tmp_path.iterdir()}
    assert {"checkpoint_last.pth", "checkpoint_best.pth", "checkpoint_epoch2.pth", "log.csv", "log.json",
            "args.json"} <= names
    state = load_checkpoint(tmp_path / "checkpoint_last.pth")
    assert state["epoch"] == 3 and state["global_step"] == 12 and state["args"] == {"lr": 0.1}
    assert len((tmp_path / "log.csv").read_text().splitlines()) == 4  # header + 3 epochs
    assert json.loads((tmp_path / "log.json").read_text()) == history
    best = max(history, key=lambda r: r["top1"])
    assert load_checkpoint(tmp_path / "checkpoint_best.pth")["epoch"] == best["epoch"]


def test_resume_after_a_crash_matches_an_uninterrupted_run(tmp_path):
    whole, history = run(tmp_path / "whole")
    with pytest.raises(Crash):
        run(tmp_path / "crashed", callbacks=[CrashAt(10)])  # in epoch 3, after the checkpoint of epoch 2
    assert load_checkpoint(tmp_path / "crashed" / "checkpoint_last.pth")["epoch"] == 2
    resumed, resumed_history = run(tmp_path / "crashed", resume="auto")
    for a, b in zip(whole.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)
    strip = [{k: v for k, v in r.items() if "seconds" not in k and "per_s" not in k} for r in history]
    assert strip == [{k: v for k, v in r.items() if "seconds" not in k and "per_s" not in k} for r in resumed_history]


def test_early_stop_ends_the_run_and_a_resume_stays_stopped(tmp_path, capsys):
    _, history = run(tmp_path, epochs=10, early_stop=2, scores=[1.0, 3.0, 2.0, 2.5, 9.0, 9.0, 9.0, 9.0, 9.0, 9.0])
    assert [r["epoch"] for r in history] == [1, 2, 3, 4]  # best at 2, then two evaluations without a new best
    assert "early stop after epoch 4" in capsys.readouterr().out
    _, again = run(tmp_path, epochs=10, early_stop=2, resume="auto", scores=[])
    assert len(again) == 4


def test_callbacks_run_after_the_checkpoint_is_written(tmp_path):
    seen = []

    class Probe(Callback):
        def on_fit_start(self, run):
            seen.append(("start", run.epoch))

        def on_epoch_end(self, run, row):
            seen.append((row["epoch"], load_checkpoint(tmp_path / "checkpoint_last.pth")["epoch"]))

        def on_fit_end(self, run):
            seen.append(("end", run.epoch))

    run(tmp_path, epochs=2, callbacks=[Probe()])
    assert seen == [("start", 0), (1, 1), (2, 2), ("end", 2)]


def test_tensorboard_logs_the_epoch_rows(tmp_path):
    accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    _, history = run(tmp_path, epochs=2, tensorboard=True, log_every=1)
    events = accumulator.EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    top1 = events.Scalars("epoch/top1")
    assert [e.step for e in top1] == [4, 8]
    assert [e.value for e in top1] == pytest.approx([r["top1"] for r in history])
    assert len(events.Scalars("train/loss_step")) == 8
