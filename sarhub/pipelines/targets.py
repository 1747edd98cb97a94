"""Target recognition (MSTAR, OpenSARShip, FUSAR-Ship; paper Table 6): fine-tuning a (SAR pre-trained) backbone
with the paper's recipe, repeated runs over seeds, and the test step that appends a Table-6 row."""
from __future__ import annotations

import argparse
import json
import statistics
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import torch

from sarhub.backbones import backbone_family
from sarhub.classification import (
    ClassifierConfig,
    add_classification_args,
    eval_loader,
    predict,
    train_classifier,
)
from sarhub.cli import common_parser, load_run, parse_args, report_result, test_parser, to_config, use_defaults
from sarhub.data.synthetic.targets import simulated_mstar_root
from sarhub.data.targets import (
    FUSARShipDataset,
    MSTARDataset,
    OpenSARShipDataset,
    make_subset,
    translation_windows,
    write_list_file,
)
from sarhub.distributed import barrier, cleanup, init_distributed
from sarhub.errors import DataError
from sarhub.metrics.classification import classification_report
from sarhub.optim import param_groups
from sarhub.paper import TABLE6, init_label
from sarhub.pipelines.common import rebuild_classifier, save_confusion

SGD_LR, ADAMW_LR = 0.01, 5e-4  # Table 4: CNNs SGD, Swin AdamW
COLUMNS = ("model", "init", "setting", "data", "train_images", "epochs", "accuracy", "macro_f1", "paper_accuracy",
           "checkpoint")


@dataclass
class TargetConfig(ClassifierConfig):
    dataset: str = "mstar"  # mstar, opensarship, fusar
    lr: float | None = None  # None: SGD_LR, or ADAMW_LR with --optimizer adamw
    weight_decay: float | None = 1e-4
    fraction: float = 1.0  # MSTAR training fraction per class (0.1, 0.3, 1)
    crop: int = 128  # MSTAR centre crop before anything else
    train_dir: str | None = None
    test_dir: str | None = None
    scale: str = "large"  # OpenSARShip scale
    oss_source: str = "uint8"
    split_dir: str | None = None  # None: --output
    optimizer: str | None = None  # None: sgd (CNN), adamw (Swin)
    momentum: float = 0.9
    schedule: str = "step"  # step (StepLR, the paper's) or onecycle
    step_size: int = 100
    step_gamma: float = 0.5
    runs: int = 1
    random_crop: int | None = None
    sim_per_class: int = 40


def get_parser(description: str = "Fine-tune a backbone for SAR target recognition") -> argparse.ArgumentParser:
    p = common_parser(description)
    p.add_argument("--dataset", choices=["mstar", "opensarship", "fusar"])
    add_classification_args(p)
    p.add_argument("--fraction", type=float, help="MSTAR training fraction per class (0.1, 0.3, 1)")
    p.add_argument("--crop", type=int, help="MSTAR centre crop before anything else")
    p.add_argument("--train-dir", help="MSTAR training class folders (instead of <data-root>/train)")
    p.add_argument("--test-dir", help="MSTAR test class folders (instead of <data-root>/test, TEST_30…)")
    p.add_argument("--scale", choices=["small", "medium", "large"], help="OpenSARShip scale")
    p.add_argument("--oss-source", choices=["uint8", "cal", "patch"])
    p.add_argument("--split-dir", help="where split/subset lists are written (None: --output)")
    p.add_argument("--optimizer", choices=["sgd", "adamw"], help="None: sgd (CNN), adamw (Swin)")
    p.add_argument("--momentum", type=float)
    p.add_argument("--schedule", choices=["step", "onecycle"],
                   help="step: StepLR (the paper's); onecycle: OneCycleLR per step, peaking at --lr (the fast recipe)")
    p.add_argument("--step-size", type=int, help="StepLR period in epochs")
    p.add_argument("--step-gamma", type=float)
    p.add_argument("--runs", type=int, help="repeat with seeds seed, seed+1, ...; mean ± std")
    p.add_argument("--random-crop", type=int, metavar="C",
                   help="MSTAR translation augmentation: train on a random C×C window of each (resized) chip, test on "
                        "the centre C×C window (the A-ConvNet protocol, 88 of 128); no flips, which would mirror the "
                        "radar shadow. The paper used none")
    p.add_argument("--sim-per-class", type=int)
    use_defaults(p, TargetConfig)
    p._option_string_actions["--lr"].help = f"None: {SGD_LR:g} (SGD) or {ADAMW_LR:g} (AdamW)"
    return p


def parse(argv: Sequence[str] | None = None, config_dir: Path | None = None,
          description: str | None = None) -> TargetConfig:
    parser = get_parser(*([description] if description else []))
    args = parse_args(parser, argv, config_dir)
    if args.random_crop is not None and not 0 < args.random_crop <= args.img_size:
        parser.error(f"--random-crop {args.random_crop} must lie between 1 and --img-size {args.img_size}")
    args.optimizer = args.optimizer or ("adamw" if backbone_family(args.model) == "swin" else "sgd")
    args.lr = args.lr or (ADAMW_LR if args.optimizer == "adamw" else SGD_LR)
    args.weight_decay = 1e-4 if args.weight_decay is None else args.weight_decay
    setting = {"mstar": f"mstar{int(round(args.fraction * 100))}", "opensarship": f"oss-{args.scale}",
               "fusar": "fusar"}[args.dataset]
    args.output = args.output or str(Path("runs") / f"{setting}_{args.model}")
    return to_config(TargetConfig, args)


def open_datasets(run, out: Path):
    """(train, test) of a run (a config or a checkpoint's saved arguments); MSTAR subsets are drawn per class and
    written to a list file."""
    if run.dataset == "mstar":
        root = run.data_root
        if root is None and not run.train_dir:
            root = simulated_mstar_root(run.sim_per_class, run.sim_per_class, seed=0)
        size = run.img_size if run.img_size != run.crop else None
        train_tf, test_tf = translation_windows(run.random_crop)
        train_where = (run.train_dir, None) if run.train_dir else (root, "train")
        train = MSTARDataset(*train_where, run.crop, size, transform=train_tf)
        if run.fraction < 1.0:
            list_file = Path(run.split_dir or out) / f"mstar_train_{int(round(run.fraction * 100))}pct_seed{run.seed}.txt"
            if not list_file.is_file():
                write_list_file(list_file, make_subset(train.items, run.fraction, run.seed))
            train = MSTARDataset(*train_where, run.crop, size, list_file=list_file, transform=train_tf)
        test_where = (run.test_dir, None) if run.test_dir else (root, "test")
        return train, MSTARDataset(*test_where, run.crop, size, transform=test_tf, classes=train.classes)
    split_dir = run.split_dir or out
    if run.dataset == "opensarship":
        kw = dict(scale=run.scale, source=run.oss_source, seed=run.seed, split_dir=split_dir)
        return OpenSARShipDataset(run.data_root, "train", **kw), OpenSARShipDataset(run.data_root, "test", **kw)
    kw = dict(image_size=run.img_size, seed=run.seed, split_dir=split_dir)
    return FUSARShipDataset(run.data_root, "train", **kw), FUSARShipDataset(run.data_root, "test", **kw)


def optimizer_factory(cfg: TargetConfig):
    """Table 4's optimiser (SGD Nesterov or AdamW, no decay on norms/biases) with StepLR per epoch, or OneCycle."""
    def build(model, steps_per_epoch):
        groups = param_groups(model, cfg.weight_decay)
        if cfg.optimizer == "adamw":
            opt = torch.optim.AdamW(groups, lr=cfg.lr)
        else:
            opt = torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=True)
        if cfg.schedule == "onecycle":
            return opt, torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=cfg.epochs * steps_per_epoch,
                                                            pct_start=0.25), "step"
        return opt, torch.optim.lr_scheduler.StepLR(opt, cfg.step_size, cfg.step_gamma), "epoch"
    return build


def train_once(cfg: TargetConfig, env) -> dict:
    """One run; the test set is scored every epoch (`test_top1`) and never selects anything."""
    out = Path(cfg.output)
    out.mkdir(parents=True, exist_ok=True)
    if env.is_main:
        open_datasets(cfg, out)  # rank 0 writes simulated data and list files first
    barrier()
    train_set, test_set = open_datasets(cfg, out)
    if env.is_main:
        print(f"{cfg.dataset}: {len(train_set)} train / {len(test_set)} test chips, {train_set.num_classes} classes, "
              f"{train_set[0]['image'].shape[-1]} px")
    history = train_classifier(cfg, env, train_set, None, optimizer_factory(cfg), {"test": test_set})
    scored = [row for row in history if "test_top1" in row]
    best = max(scored, key=lambda row: row["test_top1"])
    return {"last_test_top1": scored[-1]["test_top1"], "best_test_top1_paper_protocol": best["test_top1"],
            "best_epoch": best["epoch"], "train_images": len(train_set)}


def train(cfg: TargetConfig) -> list[dict]:
    """`cfg.runs` runs with seeds seed, seed+1, … (in <output>/run<i> when more than one); mean ± std summary."""
    env = init_distributed(cfg.device)
    base_out = Path(cfg.output)
    results = []
    for i in range(cfg.runs):
        run = cfg if cfg.runs == 1 else replace(cfg, seed=cfg.seed + i, output=str(base_out / f"run{i}"))
        results.append(train_once(run, env))
        if env.is_main:
            r = results[-1]
            print(f"run {i + 1}/{cfg.runs}: last-epoch test top-1 {r['last_test_top1']:.2f} % "
                  f"(best-on-test, paper protocol: {r['best_test_top1_paper_protocol']:.2f} % at epoch {r['best_epoch']})")
    if env.is_main and cfg.runs > 1:
        last = [r["last_test_top1"] for r in results]
        best = [r["best_test_top1_paper_protocol"] for r in results]
        summary = {"runs": results, "last_mean": statistics.mean(last), "last_std": statistics.stdev(last),
                   "best_on_test_mean": statistics.mean(best), "best_on_test_std": statistics.stdev(best)}
        (base_out / "summary.json").write_text(json.dumps(summary, indent=1))
        print(f"{cfg.runs} runs: last-epoch test top-1 {summary['last_mean']:.2f} ± {summary['last_std']:.2f} %; "
              f"best-on-test (paper protocol) {summary['best_on_test_mean']:.2f} ± {summary['best_on_test_std']:.2f} %")
    cleanup()
    return results


def setting_name(run, test_set) -> str:
    """The Table-6 column; an MSTAR test folder other than test/ (EOC: TEST_30) is named in it."""
    if run.dataset == "mstar":
        folder = test_set.split_folder.name
        return f"mstar-{int(round(run.fraction * 100))}" + ("" if folder.lower() == "test" else f"-{folder}")
    return f"oss-{run.scale}" if run.dataset == "opensarship" else "fusar"


def parse_test(argv: Sequence[str] | None, results: Path, description: str = "Evaluate a target-recognition "
               "checkpoint") -> argparse.Namespace:
    p = test_parser(description, results)
    p.add_argument("--batch-size", type=int, default=64)
    return p.parse_args(argv)


def test(args: argparse.Namespace) -> dict:
    """Overall and per-class accuracy, macro F1, the confusion matrix (PNG + CSV) beside the checkpoint and a
    Table-6 row appended to the results table. Returns the report."""
    env = init_distributed(args.device)
    state, run = load_run(args.checkpoint, "fraction", "target_recognition", get_parser())
    run.data_root = args.data_root or run.data_root
    ckpt = Path(args.checkpoint)
    train_set, test_set = open_datasets(run, Path(run.output))
    if list(train_set.classes) != list(run.classes):  # the label map must be the one the model learned
        raise DataError(run.data_root, f"its training classes are now {', '.join(train_set.classes)}, the checkpoint "
                                       f"learned {', '.join(run.classes)}")
    model, _, pre = rebuild_classifier(state, args.checkpoint)
    logits, targets = predict(model.to(env.device), eval_loader(test_set, args.batch_size, 0, env),
                              pre.to(env.device), env.device, amp=run.amp)  # training's precision: same figure
    report = classification_report(logits, targets)
    if env.is_main:
        setting = setting_name(run, test_set)
        print(f"{run.model} on {setting} ({len(test_set)} test chips): accuracy {report['top1']:.2f} %, "
              f"macro F1 {report['macro_f1']:.2f} %")
        for name, acc in zip(test_set.classes, report["per_class_accuracy"]):
            print(f"  {name:12s} {acc:6.2f} %")
        save_confusion(report["confusion"], test_set.classes, ckpt.parent / "confusion_test", f"{run.model} / {setting}")
        init = args.init or init_label(run.weights)
        paper = TABLE6.get(run.model, {}).get(init, {}).get(setting)
        row = {"model": run.model, "init": init, "setting": setting, "data": run.data_root or "simulator",
               "train_images": len(train_set), "epochs": run.epochs, "accuracy": report["top1"],
               "macro_f1": report["macro_f1"], "paper_accuracy": paper if paper is not None else "",
               "checkpoint": str(ckpt)}
        report_result(args, row, COLUMNS)
    cleanup()
    return report
