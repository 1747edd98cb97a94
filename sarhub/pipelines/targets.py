"""Target recognition (MSTAR, OpenSARShip, FUSAR-Ship; paper Table 6): fine-tuning a (SAR pre-trained) backbone
with the paper's recipe, repeated runs over seeds, and the test step that appends a Table-6 row."""
from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from sarhub.backbones import backbone_family
from sarhub.checkpoints import load_run
from sarhub.classification import ClassifierConfig, predict, train_classifier
from sarhub.config import OptimOptions, TestOptions, group, option
from sarhub.data.loader import sharded_loader
from sarhub.data.targets import TARGET_DATASETS, TargetData, TargetReader
from sarhub.distributed import barrier, init_distributed
from sarhub.engine import start_run
from sarhub.errors import ConfigError, DataError
from sarhub.metrics.classification import classification_report
from sarhub.optim import param_groups
from sarhub.paper import TABLE6, init_label
from sarhub.pipelines.common import rebuild_classifier, save_confusion
from sarhub.results import report

SGD_LR, ADAMW_LR = 0.01, 5e-4  # Table 4: CNNs SGD, Swin AdamW
COLUMNS = ("model", "init", "setting", "data", "train_images", "epochs", "accuracy", "macro_f1", "paper_accuracy",
           "checkpoint")


@dataclass
class TargetOptim(OptimOptions):
    """Table 4's fine-tuning recipe: SGD lr 0.01 (CNNs) or AdamW lr 5e-4 (Swin), weight decay 1e-4, batch 32, 500
    epochs, StepLR ×0.5 every 100 epochs; or one-cycle (the fast recipe)."""

    DEFAULTS = {"epochs": 500, "batch_size": 32, "weight_decay": 1e-4}

    optimizer: str | None = option(None, "sgd (Nesterov) or adamw; None: sgd for CNNs, adamw for Swin",
                                   choices=("sgd", "adamw"))
    momentum: float = option(0.9, "SGD momentum", bounds=(0.0, 1.0))
    schedule: str = option("step", "step: StepLR per epoch (the paper's); onecycle: OneCycleLR per step, peaking "
                                   "at lr (the fast recipe)", choices=("step", "onecycle"))
    step_size: int = option(100, "StepLR period in epochs", bounds=(1, None))
    step_gamma: float = option(0.5, "StepLR factor", positive=True)


@dataclass
class TargetConfig(ClassifierConfig, task="target_recognition", recipes="targets", signature="fraction"):
    """Fine-tune a backbone for SAR target recognition (paper Table 6)."""

    data: TargetData = group(TargetData)
    optim: TargetOptim = group(TargetOptim)
    runs: int = option(1, "repeat with seeds seed, seed+1, …; mean ± std", bounds=(1, None))

    def __post_init__(self) -> None:
        swin = backbone_family(self.model.name) == "swin"
        self.optim.optimizer = self.optim.optimizer or ("adamw" if swin else "sgd")
        self.optim.resolve(lr=ADAMW_LR if self.optim.optimizer == "adamw" else SGD_LR)
        self.run.output = self.run.output or str(Path("runs") / f"{self.reader.setting(self.data)}_{self.model.name}")
        if self.data.random_crop is not None and self.data.random_crop > self.input.img_size:
            raise ConfigError("random_crop", f"{self.data.random_crop} must not exceed img_size {self.input.img_size}")

    @property
    def reader(self) -> type[TargetReader]:
        return TARGET_DATASETS[self.data.dataset]

    @property
    def eval_split(self) -> str:
        """The split scored every epoch: the validation split when one is carved, else the test split."""
        return "val" if self.data.val_fraction else "test"

    def open_split(self, split: str, classes: list[str] | None = None) -> TargetReader:
        return self.reader.open_split(self.data, split, self.input.img_size, Path(self.run.output), self.run.seed,
                                      classes)


@dataclass
class TargetTestConfig(TestOptions):
    """Evaluate a target-recognition checkpoint on its test split (a Table-6 row)."""

    batch_size: int = option(64, "evaluation batch size", bounds=(1, None))


def optimizer_factory(cfg: TargetConfig):
    """Table 4's optimiser (SGD Nesterov or AdamW, no decay on norms/biases) with StepLR per epoch, or OneCycle."""
    o = cfg.optim

    def build(model, steps_per_epoch):
        groups = param_groups(model, o.weight_decay)
        if o.optimizer == "adamw":
            opt = torch.optim.AdamW(groups, lr=o.lr)
        else:
            opt = torch.optim.SGD(groups, lr=o.lr, momentum=o.momentum, nesterov=True)
        if o.schedule == "onecycle":
            return opt, torch.optim.lr_scheduler.OneCycleLR(opt, o.lr, total_steps=o.epochs * steps_per_epoch,
                                                            pct_start=0.25), "step"
        return opt, torch.optim.lr_scheduler.StepLR(opt, o.step_size, o.step_gamma), "epoch"
    return build


def train_once(cfg: TargetConfig) -> dict:
    """One run; the evaluation split (validation when carved, else test) is scored every epoch and never selects
    anything: the result is the last epoch's."""
    with start_run(cfg) as env:
        if env.is_main:
            cfg.open_split("train")  # rank 0 writes simulated data and list files first
        barrier()
        train_set = cfg.open_split("train")
        scored = cfg.open_split(cfg.eval_split, train_set.classes)
        if env.is_main:
            print(f"{cfg.data.dataset}: {len(train_set)} train / {len(scored)} {cfg.eval_split} chips, "
                  f"{train_set.num_classes} classes, {train_set[0]['image'].shape[-1]} px")
        history = train_classifier(cfg, env, train_set, None, optimizer_factory(cfg), {cfg.eval_split: scored})
    key = f"{cfg.eval_split}_top1"
    rows = [row for row in history if key in row]
    best = max(rows, key=lambda row: row[key])
    return {"split": cfg.eval_split, "last_top1": rows[-1][key], "best_top1_paper_protocol": best[key],
            "best_epoch": best["epoch"], "train_images": len(train_set)}


def train(cfg: TargetConfig) -> list[dict]:
    """`cfg.runs` runs with seeds seed, seed+1, … (in <output>/run<i> when more than one); mean ± std summary."""
    base_out = Path(cfg.run.output)
    results = []
    for i in range(cfg.runs):
        run = cfg if cfg.runs == 1 else replace(cfg, run=replace(cfg.run, seed=cfg.run.seed + i,
                                                                  output=str(base_out / f"run{i}")))
        results.append(train_once(run))
        r = results[-1]
        print(f"run {i + 1}/{cfg.runs}: last-epoch {r['split']} top-1 {r['last_top1']:.2f} % "
              f"(best-on-{r['split']}, paper protocol: {r['best_top1_paper_protocol']:.2f} % at epoch "
              f"{r['best_epoch']})")
    if cfg.runs > 1 and init_distributed(cfg.run.device).is_main:
        last = [r["last_top1"] for r in results]
        best = [r["best_top1_paper_protocol"] for r in results]
        summary = {"runs": results, "last_mean": statistics.mean(last), "last_std": statistics.stdev(last),
                   "best_mean": statistics.mean(best), "best_std": statistics.stdev(best)}
        (base_out / "summary.json").write_text(json.dumps(summary, indent=1))
        print(f"{cfg.runs} runs: last-epoch top-1 {summary['last_mean']:.2f} ± {summary['last_std']:.2f} %; "
              f"best-on-{cfg.eval_split} (paper protocol) {summary['best_mean']:.2f} ± {summary['best_std']:.2f} %")
    return results


def test(test_cfg: TargetTestConfig) -> dict:
    """Overall and per-class accuracy, macro F1, the confusion matrix (PNG + CSV) beside the checkpoint and a
    Table-6 row appended to the results table. Classes the test set lacks are reported absent, not 0 %."""
    env = init_distributed(test_cfg.device)
    run, state = load_run(test_cfg.checkpoint, TargetConfig)
    if test_cfg.data_root:
        run = replace(run, data=replace(run.data, root=test_cfg.data_root))
    classes = state["args"]["classes"]
    ckpt = Path(test_cfg.checkpoint)
    train_set = run.open_split("train")
    if list(train_set.classes) != list(classes):  # the label map must be the one the model learned
        raise DataError(run.data.root, f"its training classes are now {', '.join(train_set.classes)}, the "
                                       f"checkpoint learned {', '.join(classes)}")
    test_set = run.open_split("test", classes)
    model, _, pre = rebuild_classifier(state, ckpt)
    logits, targets = predict(model.to(env.device), sharded_loader(test_set, test_cfg.batch_size, env),
                              pre.to(env.device), env.device, amp=run.run.amp)  # training's precision
    result = classification_report(logits, targets)
    if env.is_main:
        setting = run.reader.setting(run.data)
        print(f"{run.model.name} on {setting} ({len(test_set)} test chips): accuracy {result['top1']:.2f} %, "
              f"macro F1 {result['macro_f1']:.2f} %")
        present = set(test_set.class_labels())
        for label, (name, acc) in enumerate(zip(classes, result["per_class_accuracy"])):
            print(f"  {name:12s} " + (f"{acc:6.2f} %" if label in present else "  absent from the test set"))
        save_confusion(result["confusion"], classes, ckpt.parent / "confusion_test", f"{run.model.name} / {setting}")
        init = test_cfg.init or init_label(run.model.weights)
        paper = TABLE6.get(run.model.name, {}).get(init, {}).get(setting)
        row = {"model": run.model.name, "init": init, "setting": setting, "data": run.data.root or "simulator",
               "train_images": len(train_set), "epochs": run.optim.epochs, "accuracy": result["top1"],
               "macro_f1": result["macro_f1"], "paper_accuracy": paper if paper is not None else "",
               "checkpoint": str(ckpt)}
        report(test_cfg, row, COLUMNS)
    return result
