"""The SAR transfer benchmark: which initialisation transfers best to SAR tasks (paper §4, Tables 6–8)?

    python -m sarhub.bench --tier smoke --output bench/smoke           # the embedded default: the simulator, ~2 min
    python -m sarhub.bench --tier cpu --backbones scratch resnet18-tsxslc OPT=opt.safetensors --output bench/cpu
    python -m sarhub.bench --tier cpu --split val --backbones A=a.safetensors B=b.safetensors --output bench/select
    python -m sarhub.bench --tier paper --jobs 8 --backbones mine=resnet50@my_pretraining.pth --output bench/paper

Every (backbone, task, seed) is a cell: the task's existing pipeline (target recognition, the probes, FCOS, DeepLabV3)
run with the task's recorded protocol for the tier, in its own folder `<output>/cells/<backbone>/<task>/seed<k>`.
Re-running the command reads finished cells back and resumes unfinished ones; a cell that fails keeps its one-line
error in its row and the others go on. Outputs: `results.csv` (one row per cell), `results.md` (backbones × tasks,
mean ± sd over seeds, the paper's nearest numbers, paired differences against the reference with bootstrap 95 %
intervals: over seeds, or over test images for single-seed dense tasks) and `results.png`.

Nothing selects on a test set: classification reports the last epoch, segmentation its validation-selected
checkpoint, detection its last epoch. `--split val` trains every task on its training data minus a validation split
carved with a fixed seed, scores that split, and never opens a test file: the way to choose between backbones.

Frozen probes (fewshot, tsx-probe) feed each backbone at the input side it was pre-trained at (`native_size`: its
Model-Hub contract, its run's saved `img_size`, its safetensors metadata), since frozen features do not adapt to a
scale they never saw; fine-tuning tasks use the protocol's side for every backbone.
"""
from __future__ import annotations

import concurrent.futures
import csv
import hashlib
import io
import json
import math
import multiprocessing
import os
import re
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open

from sarhub.backbones import BACKBONES, resolve_name
from sarhub.checkpoints import atomic_write, load_checkpoint, write_text_atomic
from sarhub.cli import config_from, parse_config, run_main
from sarhub.config import option
from sarhub.data.shared import shared_data_root
from sarhub.errors import ConfigError, SarHubError
from sarhub.hub import entry, input_contract
from sarhub.metrics.bootstrap import bootstrap_mean_ci, detection_difference, mean_sd, segmentation_difference
from sarhub.paper import TABLE6, TABLE7
from sarhub.pipelines import detection, probe, segmentation, targets

TIERS = ("smoke", "cpu", "paper")
SMOKE_BACKBONES = ("scratch", "TSX-SLC=resnet18-tsxslc")  # the committed Model-Hub file loads on a fresh clone

# What every fine-tuning cell of a tier shares: the fast recipe on the CPU (one-cycle SGD, label smoothing, bf16,
# 64 px, the SAR-HUB input contract: 8-bit chips as stored, standardised per image), the paper's recipe on GPUs.
_FAST = {"config": "mstar_fast", "workers": 0}
_PAPER = {"config": "mstar", "per_image_norm": True}
_SMOKE_CHIPS = {"sim_per_class": 4, "img_size": 32, "crop": 32, "batch_size": 8, "workers": 0, "eval_every": 100}


@dataclass(frozen=True)
class Task:
    """A benchmark task: the pipeline it runs, the data it reads, its protocol per tier (settings by flat option
    name, layered over the pipeline's recipes as a command line would be), the metrics it reports (the first is
    the headline) and its seeds per tier."""

    name: str
    pipeline: str  # targets, probe, detection or segmentation
    data: str | None  # a key of DATA (None: folders given with the task)
    metrics: tuple[str, ...]
    protocols: dict[str, dict[str, Any]]
    seeds: dict[str, int] = field(default_factory=lambda: {"smoke": 2, "cpu": 3, "paper": 3})
    paper: tuple[str, ...] = ()  # the nearest numbers of the paper (ResNet-18), e.g. "IMG 83.55"

    @property
    def dense(self) -> bool:
        return self.pipeline in ("detection", "segmentation")


def _table6(setting: str) -> tuple[str, ...]:
    return tuple(f"{init} {TABLE6['resnet18'][init][setting]:.2f}" for init in ("IMG", "OPT", "TSX"))


def _mstar(fraction: float, cpu_epochs: int, paper_epochs: int = 500) -> dict[str, dict[str, Any]]:
    return {"smoke": {**_SMOKE_CHIPS, "fraction": max(fraction, 0.5), "epochs": 1},
            "cpu": {**_FAST, "fraction": fraction, "epochs": cpu_epochs, "eval_every": cpu_epochs},
            "paper": {**_PAPER, "fraction": fraction, "epochs": paper_epochs, "eval_every": 50}}


_DENSE_SEEDS = {"smoke": 1, "cpu": 1, "paper": 1}
_DET_METRICS = ("AP50", "AP", "AP50_inshore", "AP50_offshore", "AP_inshore", "AP_offshore")
_SEG_METRICS = ("miou", "cpa_ship", "P", "R", "miou_inshore", "miou_offshore", "cpa_ship_inshore",
                "cpa_ship_offshore")
TASKS: dict[str, Task] = {t.name: t for t in [
    Task("mstar-10", "targets", "mstar", ("top1", "macro_f1"), _mstar(0.1, 60), paper=_table6("mstar-10")),
    Task("mstar-30", "targets", "mstar", ("top1", "macro_f1"), _mstar(0.3, 30), paper=_table6("mstar-30")),
    Task("mstar-100", "targets", "mstar", ("top1", "macro_f1"), _mstar(1.0, 20), paper=_table6("mstar-100")),
    Task("eoc1", "targets", "eoc1", ("top1", "macro_f1"), _mstar(1.0, 20)),
    Task("oss", "targets", "oss", ("top1", "macro_f1"),
         {"cpu": {**_FAST, "dataset": "opensarship", "scale": "small", "img_size": 32, "batch_size": 16,
                  "epochs": 60, "eval_every": 60},
          "paper": {"config": "opensarship", "scale": "small", "img_size": 32, "per_image_norm": True}},
         paper=tuple(f"{init} {TABLE6['resnet18'][init]['oss-small']:.2f}" for init in ("IMG", "OPT", "TSX"))),
    Task("fewshot", "probe", "mstar", ("acc_1shot", "acc_5shot", "acc_10shot"),
         {"smoke": {"dataset": "mstar", "img_size": 32, "crop": 32, "sim_per_class": 10, "shots": [1, 5],
                    "draws": 2, "steps": 50},
          "cpu": {"dataset": "mstar", "img_size": 64, "shots": [1, 5, 10], "draws": 10},
          "paper": {"dataset": "mstar", "img_size": 128, "shots": [1, 5, 10], "draws": 10}}),
    Task("tsx-probe", "probe", "tsx", ("acc_all",),
         {"cpu": {"dataset": "tsx-slc", "draws": 1}, "paper": {"dataset": "tsx-slc", "draws": 1}}),
    Task("ssdd-det", "detection", "ssdd", _DET_METRICS,
         {"smoke": {"sim_train": 8, "sim_test": 4, "min_size": 64, "max_size": 64, "epochs": 1, "batch_size": 4,
                    "warmup_iters": 2, "workers": 0},
          "cpu": {"dataset": "ssdd", "min_size": 256, "max_size": 416, "epochs": 3, "lr_steps": [2],
                  "warmup_iters": 200, "eval_every": 3, "workers": 0, "amp": True, "channels_last": True,
                  "freeze_bn": "no", "per_image_norm": True},
          "paper": {"dataset": "ssdd", "min_size": 800, "max_size": 1333, "freeze_bn": "no",
                    "per_image_norm": True}},
         seeds=_DENSE_SEEDS,
         paper=tuple(f"{init} {TABLE7['resnet18']['ssdd'][init][1]:.2f}" for init in ("IMG", "OPT", "TSX"))),
    Task("ssdd-seg", "segmentation", "ssdd", _SEG_METRICS,
         {"smoke": {"sim_tiles": 6, "crop_size": 48, "iterations": 4, "eval_interval": 2, "batch_size": 2,
                    "eval_batch_size": 2, "workers": 0},
          "cpu": {"dataset": "ssdd", "input_size": 256, "crop_size": 256, "img_size": 256, "output_stride": 16,
                  "iterations": 300, "eval_interval": 100, "workers": 0, "amp": True, "per_image_norm": True},
          "paper": {"dataset": "ssdd", "input_size": 800, "crop_size": 512, "per_image_norm": True}},
         seeds=_DENSE_SEEDS),
]}
DEFAULT_TASKS = {"smoke": ("mstar-30", "fewshot"),
                 "cpu": ("mstar-10", "mstar-30", "mstar-100", "eoc1", "oss", "fewshot", "tsx-probe", "ssdd-det",
                         "ssdd-seg"),
                 "paper": ("mstar-10", "mstar-30", "mstar-100", "eoc1", "oss", "fewshot", "tsx-probe", "ssdd-det",
                           "ssdd-seg")}
DATA = {"mstar": "mstar_soc", "eoc1": "mstar_eoc_depression", "oss": "opensarship", "tsx": "tsx_slc",
        "ssdd": "ssdd"}
# Wall seconds of one cell on one thread of this project's 2-core CPU, two cells side by side (cpu tier, ResNet-18,
# medians of the issue-25 runs), for --dry-run estimates.
CPU_SECONDS = {"mstar-10": 142, "mstar-30": 179, "mstar-100": 474, "eoc1": 175, "oss": 120, "fewshot": 73,
               "tsx-probe": 57, "ssdd-det": 1200, "ssdd-seg": 330}
_SMOKE_SECONDS = 10


@dataclass
class BenchConfig:
    """Which initialisation transfers best to SAR tasks: run the transfer benchmark."""

    backbones: list[str] = option(factory=list, help="initialisations, LABEL=SPEC or SPEC; SPEC: scratch, a Model-Hub "
                                  "name, a weights file (.safetensors/.pth, the authors' layouts too), a timm tag "
                                  "(timm:resnet18.a1_in1k[:FILE]), each optionally ARCH@SPEC for another backbone "
                                  "than --model; default: " + " ".join(SMOKE_BACKBONES))
    tasks: list[str] = option(factory=list, help=f"tasks: {', '.join(TASKS)}, or pair-NAME for a --pair; default: the "
                              "tier's (smoke: mstar-30 fewshot; cpu and paper: all)")
    tier: str = option("smoke", "smoke: the simulator, seconds (tests); cpu: sized for 2 CPU cores (README states "
                                "every budget); paper: the paper's budgets, for GPUs", choices=TIERS)
    split: str = option("test", "test: score the official test sets; val: train on the training data minus a "
                                "validation split carved with a fixed seed, score that, never read a test file",
                        choices=("test", "val"))
    seeds: int | None = option(None, "seeds per cell (None: the task's protocol: 3 classification, 1 dense)",
                               bounds=(1, None))
    reference: str = option("scratch", "the backbone label the others are compared with")
    model: str = option("resnet18", "backbone architecture of scratch and of weights files without ARCH@")
    output: str = option("bench", "folder of the cells and the results")
    jobs: int = option(1, "cells run at once (one per GPU where there are GPUs)", bounds=(1, 256))
    threads: int | None = option(None, "torch threads per cell (None: the cores / jobs)", bounds=(1, 1024))
    draws: int = option(1000, "bootstrap resamples of an interval", bounds=(10, None))
    dry_run: bool = option(False, "list the cells with an estimated cost and stop")
    report: bool = option(False, "write the results of the cells already finished in --output and run none; the "
                                 "others are listed as not run (a partial table while cells still run elsewhere)")
    shared: str | None = option(None, "the shared data folder (default: $SARHUB_SHARED_DATA or ../shared/data)")
    mstar_root: str | None = option(None, "MSTAR SOC (train/, test/ class folders; default: <shared>/mstar_soc)")
    eoc1_root: str | None = option(None, "MSTAR EOC-1 (TRAIN/, TEST_30/; default: <shared>/mstar_eoc_depression)")
    oss_root: str | None = option(None, "OpenSARShip scenes (default: <shared>/opensarship)")
    tsx_root: str | None = option(None, "TerraSAR-X SLC chips (default: <shared>/tsx_slc)")
    ssdd_root: str | None = option(None, "SSDD (default: <shared>/ssdd)")
    pair: list[str] = option(factory=list, help="an MSTAR-layout train/test folder pair as task pair-NAME "
                             "(e.g. an EOC-2 set): NAME=TRAIN_DIR:TEST_DIR; repeatable", metavar="NAME=TRAIN:TEST",
                             repeat=True)

    def __post_init__(self) -> None:
        self.backbones = self.backbones or list(SMOKE_BACKBONES)
        labels = [Backbone.parse(b, self.model).label for b in self.backbones]
        if len(set(labels)) != len(labels):
            raise ConfigError("backbones", f"two backbones share a label: {labels}")
        if self.reference not in labels:
            raise ConfigError("reference", f"{self.reference!r} is not one of the backbones ({', '.join(labels)})")
        for name in self.tasks:
            if name not in self.task_table:
                raise ConfigError("tasks", f"unknown task {name!r}; choose from {', '.join(self.task_table)}")

    @property
    def task_table(self) -> dict[str, Task]:
        """The fixed tasks and the user's folder pairs (each with the EOC-1 protocol)."""
        table = dict(TASKS)
        for item in self.pair:
            name, eq, folders = item.partition("=")
            train, colon, test = folders.partition(":")
            if not (name and eq and colon and train and test):
                raise ConfigError("pair", f"{item!r}: expected NAME=TRAIN_DIR:TEST_DIR")
            protocols = {tier: {**settings, "train_dir": train, "test_dir": test}
                         for tier, settings in TASKS["eoc1"].protocols.items()}
            table[f"pair-{name}"] = Task(f"pair-{name}", "targets", None, TASKS["eoc1"].metrics, protocols)
        return table

    @property
    def selected(self) -> list[Task]:
        return [self.task_table[name] for name in (self.tasks or DEFAULT_TASKS[self.tier])]

    def data_root(self, key: str | None) -> str | None:
        """A data location: its option, else the shared folder's; None on the smoke tier (the simulator)."""
        if key is None or self.tier == "smoke":
            return None
        given = getattr(self, f"{key}_root")
        if given:
            return given
        shared = Path(self.shared) if self.shared else shared_data_root()
        return str(shared / DATA[key]) if shared is not None else None


@dataclass(frozen=True)
class Backbone:
    """One initialisation: its label in the tables, the architecture and the weights spec its cells start from."""

    label: str
    arch: str
    weights: str | None

    @classmethod
    def parse(cls, text: str, default_arch: str) -> Backbone:
        label, eq, spec = text.partition("=")
        if not eq:
            label, spec = text, text
        arch, at, rest = spec.partition("@")
        if at and _is_arch(arch):
            spec = rest
        else:
            arch = default_arch
            e = entry(spec)
            if e is not None:
                arch = e["architecture"]
            elif spec.startswith("timm:") or re.fullmatch(r"[a-z0-9_]+\.[A-Za-z0-9_]+", spec):
                spec = spec if spec.startswith("timm:") else f"timm:{spec}"
                arch = next((name for name, s in BACKBONES.items() if s.timm_name == spec[5:].split(".")[0]), arch)
        weights = None if spec.lower() == "scratch" else spec  # a missing file fails its cells, with the reason
        return cls(label, resolve_name(arch), weights)


def native_size(weights: str | None) -> int | None:
    """The input side a backbone was pre-trained at: its Model-Hub contract's, its run checkpoint's saved
    `img_size`, its safetensors file's input contract or `img_size` metadata; None when unknown (scratch, timm tags,
    other files)."""
    if not weights:
        return None
    hub = entry(weights)
    if hub is not None:
        return int(hub["input"]["img_size"])
    path = Path(weights)
    if not path.is_file():
        return None  # a missing file fails its cells, with the reason
    if path.suffix == ".safetensors":
        contract = input_contract(path)  # a Model-Hub export, a BYOL backbone
        if contract is not None:
            return contract.img_size
        with safe_open(str(path), "pt") as f:  # a MIM encoder: its side as plain metadata
            size = (f.metadata() or {}).get("img_size")
        return int(size) if size else None
    try:
        args = load_checkpoint(path).get("args") or {}
    except SarHubError:
        return None  # not one of our runs (an authors' layout, a refused pickle): its cells say what is wrong
    size = args.get("img_size", args.get("input_size"))
    return int(size) if isinstance(size, (int, float)) else None


def _is_arch(name: str) -> bool:
    try:
        resolve_name(name)
        return True
    except ValueError:
        return False


@dataclass(frozen=True)
class Cell:
    """One (backbone, task, seed) of a benchmark: everything its process needs to run it."""

    backbone: Backbone
    task: str
    seed: int
    settings: dict[str, Any]
    pipeline: str
    split: str
    metrics: tuple[str, ...]
    folder: str
    threads: int

    @property
    def fingerprint(self) -> str:
        """What the cell's result depends on: a finished cell of other settings is not read back as this one."""
        key = json.dumps([self.backbone.arch, self.backbone.weights, self.task, self.seed, self.settings, self.split],
                         sort_keys=True, default=str)
        return hashlib.sha256(key.encode()).hexdigest()[:16]


def cells_of(cfg: BenchConfig) -> list[Cell]:
    """Every cell of the benchmark, in run order (task by task, so one task's rows finish together)."""
    threads = cfg.threads or max(1, (os.cpu_count() or 1) // cfg.jobs)
    backbones = [Backbone.parse(b, cfg.model) for b in cfg.backbones]
    probes = cfg.tier != "smoke" and any(t.pipeline == "probe" for t in cfg.selected)
    native = {b.label: native_size(b.weights) for b in backbones} if probes else {}  # one read per backbone
    out = []
    for task in cfg.selected:
        if cfg.tier not in task.protocols:
            raise ConfigError("tasks", f"{task.name} has no {cfg.tier} protocol (it needs real data)")
        root = cfg.data_root(task.data)
        if cfg.tier != "smoke" and task.data is not None and (root is None or not Path(root).is_dir()):
            raise ConfigError(f"{task.data}_root", f"{task.name} needs its data folder (found none at {root})")
        for backbone in backbones:
            for seed in range(cfg.seeds or task.seeds[cfg.tier]):
                folder = Path(cfg.output) / "cells" / _slug(backbone.label) / task.name / f"seed{seed}"
                settings = dict(task.protocols[cfg.tier])
                if task.pipeline == "probe" and native.get(backbone.label) is not None:
                    settings["img_size"] = native[backbone.label]
                if root is not None:
                    settings["data_root"] = root
                out.append(Cell(backbone, task.name, seed, settings, task.pipeline, cfg.split, task.metrics,
                                str(folder), threads))
    return out


def _slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", label)


NOT_RUN = "not run"  # the status --report gives a cell that has not finished


# --- one cell -------------------------------------------------------------------------------------------------------

def _base_row(cell: Cell) -> dict[str, Any]:
    return {"backbone": cell.backbone.label, "weights": cell.backbone.weights or "scratch", "task": cell.task,
            "seed": cell.seed, "split": cell.split, "fingerprint": cell.fingerprint}


def finished_row(cell: Cell) -> dict[str, Any] | None:
    """The row of a cell that finished with these settings, or None."""
    done = Path(cell.folder) / "cell.json"
    if done.is_file():
        row = json.loads(done.read_text())
        if row.get("status") == "ok" and row.get("fingerprint") == cell.fingerprint:
            return row
    return None


def run_cell(cell: Cell) -> dict[str, Any]:
    """Run (or read back) one cell; returns its row. A failure the user can fix is recorded as the row's error."""
    folder = Path(cell.folder)
    done = folder / "cell.json"
    finished = finished_row(cell)
    if finished is not None:
        return finished
    torch.set_num_threads(cell.threads)
    base = _base_row(cell)
    start = time.perf_counter()
    try:
        metrics, extra = RUNNERS[cell.pipeline](cell, folder)
        row = {**base, "status": "ok", **metrics, **extra}
    except SarHubError as exc:
        row = {**base, "status": f"failed: {exc}"}
    except Exception as exc:  # a bug in one cell: the others go on; its traceback is kept beside it
        folder.mkdir(parents=True, exist_ok=True)
        write_text_atomic(folder / "error.log", traceback.format_exc())
        row = {**base, "status": f"failed: {type(exc).__name__}: {exc} (traceback in {folder / 'error.log'})"}
    row["wall_s"] = round(time.perf_counter() - start, 1)
    write_text_atomic(done, json.dumps(row, indent=1, default=str))
    return row


def _settings(cell: Cell, folder: Path, **more: Any) -> dict[str, Any]:
    return {**cell.settings, "model": cell.backbone.arch, "weights": cell.backbone.weights, "seed": cell.seed,
            "output": str(folder / "run"), "resume": "auto", **more}


def _last(history_file: Path) -> dict[str, Any]:
    return json.loads(history_file.read_text())[-1]


def _targets(cell: Cell, folder: Path) -> tuple[dict, dict]:
    extra = {"val_fraction": 0.2} if cell.split == "val" else {}
    cfg = config_from(targets.TargetConfig, _settings(cell, folder, **extra))
    targets.train(cfg)
    row = _last(folder / "run" / "log.json")
    metrics = {"top1": row[f"{cell.split}_top1"], "macro_f1": row[f"{cell.split}_macro_f1"]}
    return metrics, {"epochs": row["epoch"], "checkpoint": str(folder / "run" / "checkpoint_last.pth")}


def _probe(cell: Cell, folder: Path) -> tuple[dict, dict]:
    settings = {k: v for k, v in _settings(cell, folder, split=cell.split, append=False).items()
                if k not in ("model", "output", "resume", "workers")}
    cfg = config_from(probe.ProbeConfig, {**settings, "encoder": cell.backbone.arch})
    result = probe.probe(cfg)
    metrics = {f"acc_{'all' if k == 0 else f'{k}shot'}": v["accuracy"] for k, v in result["shots"].items()}
    return metrics, {"epochs": "", "checkpoint": ""}


def _detection(cell: Cell, folder: Path) -> tuple[dict, dict]:
    extra = {"val_fraction": 0.1} if cell.split == "val" else {}
    cfg = config_from(detection.DetectionConfig, _settings(cell, folder, **extra))
    detection.train(cfg)
    ckpt = folder / "run" / "checkpoint_last.pth"
    result = detection.test(config_from(detection.DetectionTestConfig, {
        "checkpoint": str(ckpt), "append": False, "images": 0, "split": cell.split}))
    write_text_atomic(folder / "detections.json", json.dumps({"detections": result["detections"],
                                                              "ground_truth": result["ground_truth"]}))
    metrics = {}
    for subset in ("all", "inshore", "offshore"):
        for key in ("AP50", "AP"):
            if subset in result:
                metrics[key if subset == "all" else f"{key}_{subset}"] = result[subset][key]
    return metrics, {"epochs": _last(folder / "run" / "log.json")["epoch"], "checkpoint": str(ckpt)}


def _segmentation(cell: Cell, folder: Path) -> tuple[dict, dict]:
    cfg = config_from(segmentation.SegmentationConfig, _settings(cell, folder))
    segmentation.train(cfg)
    ckpt = folder / "run" / ("checkpoint_best.pth" if cell.split == "test" else "checkpoint_last.pth")
    result = segmentation.test(config_from(segmentation.SegmentationTestConfig, {
        "checkpoint": str(ckpt), "append": False, "panel": 0, "split": cell.split}))
    buffer = io.BytesIO()
    torch.save({"images": result["images"], "confusions": result["confusions"], "target": result["target"]}, buffer)
    atomic_write(folder / "confusions.pt", buffer.getbuffer())
    target = result["target"]
    metrics = {}
    for subset in ("all", "inshore", "offshore"):
        if subset not in result:
            continue
        scores = result[subset]
        suffix = "" if subset == "all" else f"_{subset}"
        metrics[f"miou{suffix}"] = scores["miou"]
        metrics[f"cpa_ship{suffix}"] = scores[f"cpa_{target}"]
        if subset == "all":
            metrics["P"], metrics["R"] = scores["mean_precision"], scores["mean_recall"]
    return metrics, {"epochs": _last(folder / "run" / "log.json")["epoch"], "checkpoint": str(ckpt)}


RUNNERS = {"targets": _targets, "probe": _probe, "detection": _detection, "segmentation": _segmentation}


# --- the whole benchmark --------------------------------------------------------------------------------------------

def _worker_init(gpus: int) -> None:
    """A --jobs worker: one GPU each where there are GPUs (round robin over the pool's processes)."""
    if gpus:
        identity = multiprocessing.current_process()._identity
        os.environ["CUDA_VISIBLE_DEVICES"] = str((identity[0] - 1 if identity else 0) % gpus)


def run_cells(cells: list[Cell], jobs: int) -> list[dict]:
    """Every cell's row, in the cells' order: one after another, or `jobs` processes at once."""
    if jobs == 1:
        return [run_cell(c) for c in cells]
    gpus = torch.cuda.device_count()
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context, initializer=_worker_init,
                                                initargs=(gpus,)) as pool:
        return list(pool.map(run_cell, cells))


def dry_run(cfg: BenchConfig, cells: list[Cell]) -> str:
    """The cells as a table with their state and an estimated cost, so a resumed run says what is left."""
    seconds = {c.task: (_SMOKE_SECONDS if cfg.tier == "smoke" else CPU_SECONDS.get(c.task, math.nan)) for c in cells}
    left = [finished_row(c) is None for c in cells]
    lines = ["| backbone | task | seed | folder | state | estimated s (1 thread) |", "|---|---|---|---|---|---|"]
    lines += [f"| {c.backbone.label} | {c.task} | {c.seed} | {c.folder} | {'to run' if todo else 'finished'} "
              f"| {seconds[c.task]:.0f} |" for c, todo in zip(cells, left)]
    hours = sum(seconds[c.task] for c, todo in zip(cells, left) if todo) / 3600
    note = " (the paper tier is sized for GPUs: CPU estimates do not apply)" if cfg.tier == "paper" else ""
    return ("\n".join(lines) + f"\n\n{len(cells)} cells, {len(cells) - sum(left)} finished, {sum(left)} to run: "
            f"about {hours:.1f} CPU hours, {hours / cfg.jobs:.1f} h with --jobs {cfg.jobs}{note}")


def run(cfg: BenchConfig) -> list[dict]:
    """Run (or resume) every cell, then write results.csv, results.md and results.png. Returns the rows."""
    cells = cells_of(cfg)
    if cfg.dry_run:
        print(dry_run(cfg, cells))
        return []
    if cfg.report:
        rows = [finished_row(c) or {**_base_row(c), "status": NOT_RUN} for c in cells]
    else:
        rows = run_cells(cells, cfg.jobs)
    out = Path(cfg.output)
    write_csv(out / "results.csv", rows)
    comparisons = compare(cfg, cells, rows)
    write_text_atomic(out / "results.md", markdown(cfg, rows, comparisons))
    plot(cfg, rows, out / "results.png")
    failed = [r for r in rows if r["status"] != "ok"]
    print(f"{len(rows) - len(failed)}/{len(rows)} cells done; wrote {out / 'results.md'}, results.csv, results.png")
    for r in failed:
        print(f"  {r['backbone']} / {r['task']} / seed {r['seed']}: {r['status']}")
    return rows


def write_csv(path: Path, rows: list[dict]) -> None:
    columns = ["backbone", "weights", "task", "seed", "split", "status"]
    columns += sorted({k for r in rows for k in r} - set(columns) - {"fingerprint", "epochs", "wall_s", "checkpoint"})
    columns += ["epochs", "wall_s", "checkpoint"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(path, buffer.getvalue())


def values(rows: list[dict], backbone: str, task: str, metric: str) -> dict[int, float]:
    """seed -> value of the finished cells of (backbone, task)."""
    return {r["seed"]: float(r[metric]) for r in rows if r["backbone"] == backbone and r["task"] == task
            and r["status"] == "ok" and r.get(metric) not in (None, "")}


def compare(cfg: BenchConfig, cells: list[Cell], rows: list[dict]) -> list[dict]:
    """Paired differences of each backbone's headline metric against the reference: over seeds (the seeds both
    finished), or, for a single-seed dense task, over the test images of that seed (same images for both)."""
    out = []
    labels = list(dict.fromkeys(c.backbone.label for c in cells))
    for task in cfg.selected:
        metric = task.metrics[0]
        ref = values(rows, cfg.reference, task.name, metric)
        for label in labels:
            if label == cfg.reference:
                continue
            mine = values(rows, label, task.name, metric)
            seeds = sorted(set(ref) & set(mine))
            if not seeds:
                continue
            if task.dense and len(seeds) == 1:
                diff, lo, hi = _image_interval(cfg, task, label, seeds[0], metric)
                over = "test images" if cfg.split == "test" else "validation images"
            else:
                diff, lo, hi = bootstrap_mean_ci([mine[s] - ref[s] for s in seeds], cfg.draws)
                over = f"{len(seeds)} seeds"
            out.append({"task": task.name, "metric": metric, "backbone": label, "difference": diff, "low": lo,
                        "high": hi, "over": over})
    return out


def _image_interval(cfg: BenchConfig, task: Task, label: str, seed: int, metric: str) -> tuple[float, float, float]:
    def folder(name: str) -> Path:
        return Path(cfg.output) / "cells" / _slug(name) / task.name / f"seed{seed}"

    if task.pipeline == "detection":
        a, b = (json.loads((folder(n) / "detections.json").read_text()) for n in (label, cfg.reference))
        return detection_difference(a["ground_truth"], a["detections"], b["detections"], metric,
                                    draws=min(cfg.draws, 300))
    a, b = (load_checkpoint(folder(n) / "confusions.pt") for n in (label, cfg.reference))
    key = {"cpa_ship": f"cpa_{a['target']}"}.get(metric, metric)
    return segmentation_difference(a["confusions"], b["confusions"], key, a["target"], draws=cfg.draws)


def _cell_text(vals: dict[int, float]) -> str:
    if not vals:
        return "—"
    mean, sd = mean_sd(list(vals.values()))
    return f"{mean:.2f}" if len(vals) == 1 else f"{mean:.2f} ± {sd:.2f} ({len(vals)})"


def markdown(cfg: BenchConfig, rows: list[dict], comparisons: list[dict]) -> str:
    """results.md: the protocol header, backbones × tasks (headline metric), every metric per task, the paired
    differences, and the cells that failed."""
    labels = list(dict.fromkeys(r["backbone"] for r in rows))
    tasks = cfg.selected
    lines = [f"# SAR transfer benchmark ({cfg.tier} tier, {cfg.split} split)", "",
             f"Command: `python -m sarhub.bench --tier {cfg.tier} --split {cfg.split} --backbones "
             f"{' '.join(cfg.backbones)} --tasks {' '.join(t.name for t in tasks)}`", "",
             "Protocols (settings layered over each pipeline's recipes, as a command line would be):", ""]
    for task in tasks:
        settings = {k: v for k, v in task.protocols[cfg.tier].items() if k != "data_root"}
        root = cfg.data_root(task.data)
        lines.append(f"- **{task.name}** ({task.pipeline}; data {root or 'simulator'}; "
                     f"{cfg.seeds or task.seeds[cfg.tier]} seed(s)): `{json.dumps(settings)}`")
    if any(t.pipeline == "probe" for t in tasks) and cfg.tier != "smoke":
        lines += ["", "Frozen probes feed each backbone at the side it was pre-trained at (`native_size`), the "
                      "protocol's side when that is unknown; fine-tuning uses the protocol's side for every backbone."]
    backbone_lines = {Backbone.parse(b, cfg.model) for b in cfg.backbones}
    lines += ["", "Backbones: " + "; ".join(f"{b.label} = {b.arch} from {b.weights or 'scratch'}"
                                           for b in sorted(backbone_lines, key=lambda b: labels.index(b.label)
                                                           if b.label in labels else 0)),
              "", "## Headline metric per task (mean ± sd over seeds (n); % )", "",
              "| backbone | " + " | ".join(f"{t.name} {t.metrics[0]}" for t in tasks) + " |",
              "|---|" + "---|" * len(tasks)]
    for label in labels:
        lines.append(f"| {label} | " + " | ".join(_cell_text(values(rows, label, t.name, t.metrics[0])) for t in tasks)
                     + " |")
    papers = [t for t in tasks if t.paper]
    if papers:
        lines += ["", "The paper's nearest numbers (ResNet-18, its budgets and data, not this protocol): "
                  + "; ".join(f"{t.name}: {', '.join(t.paper)}" for t in papers) + "."]
    lines += ["", f"## Paired differences against {cfg.reference} (headline metric, bootstrap 95 % interval)", "",
              "| task | backbone | difference | 95 % interval | over |", "|---|---|---|---|---|"]
    for c in comparisons:
        interval = "—" if math.isnan(c["low"]) else f"[{c['low']:+.2f}, {c['high']:+.2f}]"
        lines.append(f"| {c['task']} ({c['metric']}) | {c['backbone']} | {c['difference']:+.2f} | {interval} | "
                     f"{c['over']} |")
    for task in tasks:
        lines += ["", f"## {task.name}: every metric", "", "| backbone | " + " | ".join(task.metrics) + " |",
                  "|---|" + "---|" * len(task.metrics)]
        for label in labels:
            lines.append(f"| {label} | " + " | ".join(_cell_text(values(rows, label, task.name, m))
                                                      for m in task.metrics) + " |")
    failed = [r for r in rows if r["status"] not in ("ok", NOT_RUN)]
    if failed:
        lines += ["", "## Cells that failed", ""] + [f"- {r['backbone']} / {r['task']} / seed {r['seed']}: "
                                                    f"{r['status']}" for r in failed]
    missing = [r for r in rows if r["status"] == NOT_RUN]
    if missing:
        lines += ["", "## Cells not run yet", "", ", ".join(f"{r['backbone']} / {r['task']} / seed {r['seed']}"
                                                            for r in missing)]
    wall = sum(float(r.get("wall_s") or 0) for r in rows)
    lines += ["", f"{len(rows)} cells, {wall / 60:.1f} min of wall time in this run's cells (read-back cells count "
                  "their own)."]
    return "\n".join(lines) + "\n"


def plot(cfg: BenchConfig, rows: list[dict], path: Path) -> None:
    """results.png: one panel per task, one bar per backbone (mean of seeds), the seed values as dots."""
    import matplotlib.pyplot as plt

    tasks = cfg.selected
    labels = list(dict.fromkeys(r["backbone"] for r in rows))
    cols = min(3, len(tasks))  # a grid, so that a full suite stays readable
    grid_rows = math.ceil(len(tasks) / cols)
    fig, axes = plt.subplots(grid_rows, cols, figsize=(cols * (1.2 + 0.45 * len(labels)), 3.2 * grid_rows),
                             squeeze=False)
    for ax in axes.flat[len(tasks):]:
        ax.axis("off")
    for ax, task in zip(axes.flat, tasks):
        metric = task.metrics[0]
        for i, label in enumerate(labels):
            vals = list(values(rows, label, task.name, metric).values())
            if vals:
                ax.bar(i, sum(vals) / len(vals), color=f"C{i}", alpha=0.6)
                ax.scatter([i] * len(vals), vals, color="black", s=10, zorder=3)
        ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=7)
        ax.set_title(f"{task.name} ({metric})", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    atomic_write(path, buffer.getbuffer())


def main(argv: list[str] | None = None) -> None:
    run(parse_config(BenchConfig, argv, __doc__.splitlines()[0], "python -m sarhub.bench"))


if __name__ == "__main__":
    run_main(main)
