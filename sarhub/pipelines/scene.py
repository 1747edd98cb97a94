"""Scene-classification pre-training (TSX / BEN / OSU, paper §3.1–3.2) and its test step (Tables 1–3): the
config, the parser, the datasets of a run, the training call and the evaluation of one or several checkpoints."""
from __future__ import annotations

import argparse
import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import torch

from sarhub.backbones import backbone_family
from sarhub.checkpoints import load_checkpoint
from sarhub.classification import (
    ClassifierConfig,
    add_classification_args,
    build_transform,
    drae_config,
    eval_loader,
    predict,
    train_classifier,
)
from sarhub.cli import common_parser, config_defaults, parse_args, refuse, report_result, to_config, use_defaults
from sarhub.data.class_folder import ClassFolderDataset
from sarhub.data.scene import SPLITS, open_scene_split
from sarhub.distributed import barrier, cleanup, init_distributed
from sarhub.errors import DataError
from sarhub.metrics.classification import classification_report, majority_vote
from sarhub.optim import adamw_onecycle
from sarhub.paper import scene_reference
from sarhub.pipelines.common import rebuild_classifier, save_confusion

DATASETS = ("TSX", "BEN", "OSU", "TSX-SLC", "folder")
CNN_LR, SWIN_LR = 2.5e-4, 2.5e-5  # the paper's OneCycle peaks (§4.1)
COLUMNS = ("model", "dataset", "data", "init", "drae", "loss", "epochs", "top1", "top5", "macro_f1", "micro_f1",
           "paper_top1", "gamma_accuracies", "gamma_variance", "checkpoint")


@dataclass
class SceneConfig(ClassifierConfig):
    dataset: str = "TSX"
    lr: float | None = None  # None: CNN_LR, or SWIN_LR for Swin
    weight_decay: float | None = 0.05
    div_factor: float = 5.0  # OneCycle start lr = max lr / this
    pct_start: float = 0.3
    bands: str = "VV"  # BigEarthNet-S1 original layout: VV, VH or VV,VH
    split_dir: str | None = None  # None: --output
    split_file: list[str] = field(default_factory=list)  # SPLIT=PATH items
    bootstrap_seed: int | None = None
    sim_classes: int = 8
    sim_per_class: int = 60


def get_parser(description: str = "Pre-train a backbone on SAR scene classification") -> argparse.ArgumentParser:
    p = common_parser(description)
    p.add_argument("--dataset", type=str, choices=list(DATASETS),
                   help="TSX-SLC: the real TerraSAR-X SLC chips (sarhub.data.tsx_slc); folder: any class-folder image "
                        "set given by --data-root (e.g. RSSCN7, NWPU-RESISC45, tsx_slc/slc_data), read as one grey "
                        "channel (RGB by BT.601 luma; sarhub.data.class_folder)")
    add_classification_args(p)
    p.add_argument("--div-factor", type=float, help="OneCycle start lr = max lr / this")
    p.add_argument("--pct-start", type=float)
    p.add_argument("--bands", type=str, help="BigEarthNet-S1 original layout: VV, VH or VV,VH")
    p.add_argument("--split-dir", help="where split files missing from --data-root are written (None: --output); "
                                       "never the data root")
    p.add_argument("--split-file", action="append", metavar="SPLIT=PATH",
                   help="list of a split (train=..., val=..., test=...), '<path or file name> <label or l1,l2,…>' per "
                        "line, e.g. the authors' published BEN/OSU lists (files found by name under --data-root)")
    p.add_argument("--bootstrap-seed", type=int, help="bagging: train on this bootstrap resample")
    p.add_argument("--sim-classes", type=int)
    p.add_argument("--sim-per-class", type=int, help="images of the largest simulated class")
    use_defaults(p, SceneConfig)
    p._option_string_actions["--lr"].help = f"None: {CNN_LR:g} (CNNs) or {SWIN_LR:g} (Swin)"
    return p


def parse(argv: Sequence[str] | None = None, config_dir: Path | None = None,
          description: str | None = None) -> SceneConfig:
    parser = get_parser(*([description] if description else []))
    args = parse_args(parser, argv, config_dir)
    lists = dict(item.split("=", 1) for item in args.split_file if "=" in item)
    bad = [item for item in args.split_file if "=" not in item or item.split("=", 1)[0] not in SPLITS]
    if bad:
        refuse(parser, f"--split-file {bad[0]}: expected train=PATH, val=PATH or test=PATH")
    args.split_file = [f"{k}={v}" for k, v in lists.items()]
    if args.no_drae:
        args.drae_method = "none"
    args.lr = args.lr or (SWIN_LR if backbone_family(args.model) == "swin" else CNN_LR)
    args.weight_decay = 0.05 if args.weight_decay is None else args.weight_decay
    args.output = args.output or str(Path("runs") / f"{args.dataset}_{args.model}")
    return to_config(SceneConfig, args)


def open_split(run, split: str, train: bool, classes=None, cache: bool = False):
    """One split of a run (a config, or a checkpoint's saved arguments as a namespace) in its dataset's layout;
    `--dataset folder` reads any class-folder set as one grey channel (`sarhub.data.class_folder`)."""
    lists = dict(item.split("=", 1) for item in run.split_file or [])
    if run.dataset == "folder" and run.data_root is not None:
        return ClassFolderDataset(run.data_root, split, run.split_dir or run.output,
                                  build_transform(run.img_size, train), run.seed, cache=cache,
                                  split_file=lists.get(split), classes=classes)
    return open_scene_split(run.dataset, run.data_root, split,
                            build_transform(run.img_size, train), run.seed, tuple(run.bands.split(",")),
                            run.sim_classes, run.sim_per_class, cache=cache,
                            split_dir=run.split_dir or run.output, split_file=lists.get(split), classes=classes)


def train(cfg: SceneConfig) -> list[dict]:
    """Scene pre-training: AdamW + OneCycle (the paper's recipe) through `train_classifier`."""
    env = init_distributed(cfg.device)
    torch.manual_seed(cfg.seed)
    if env.is_main:  # rank 0 writes the simulated set / split files before the others read them
        open_split(cfg, "train", True, cache=cfg.cache)
    barrier()
    train_set = open_split(cfg, "train", True, cache=cfg.cache)
    val_set = open_split(cfg, "val", False, train_set.classes, cache=cfg.cache)  # labels follow the training classes
    if cfg.bootstrap_seed is not None:
        train_set = train_set.bootstrap(cfg.bootstrap_seed)
    if env.is_main:
        print(f"{cfg.dataset} from {cfg.data_root or 'the built-in simulator'}: {len(train_set)} train / "
              f"{len(val_set)} val images, {train_set.num_classes} classes, multi-label={train_set.multilabel}")

    def optimizer_factory(model, steps):
        return (*adamw_onecycle(model, cfg.lr, cfg.epochs * steps, cfg.weight_decay, cfg.div_factor, cfg.pct_start),
                "step")

    history = train_classifier(cfg, env, train_set, val_set, optimizer_factory)
    cleanup()
    return history


def test_parser(results: Path, description: str = "Evaluate a scene-classification checkpoint"
                ) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--checkpoint", required=True, nargs="+",
                   help="a checkpoint written by train.py; several (bagging members) are also scored as a vote")
    p.add_argument("--data-root", default=None, help="override the data root stored in the checkpoint")
    p.add_argument("--split", default="test", choices=["train", "val", "test"])
    p.add_argument("--gamma", default=None, help="comma-separated γ values for the robustness test (Table 2)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--device", default="auto")
    p.add_argument("--init", default=None, help="label of the initialisation for the table (default from args)")
    p.add_argument("--results", default=str(results), help="results table path without extension")
    p.add_argument("--no-append", action="store_true", help="print only, do not append to the results table")
    return p


def test(args: argparse.Namespace) -> dict:
    """Top-1/top-5, per-class accuracy, F1, the confusion matrix beside the checkpoint, optional γ robustness
    (Table 2) and bagging vote; appends a row to the results table. Returns the report."""
    env = init_distributed(args.device)
    states = [load_checkpoint(c) for c in args.checkpoint]
    run = states[0].get("args") or {}
    if "num_classes" not in run:
        raise DataError(args.checkpoint[0], "has no training arguments: not a SAR_scene_classification checkpoint")
    data_root = args.data_root or run.get("data_root")
    saved = argparse.Namespace(**{**config_defaults(SceneConfig), **run, "data_root": data_root})
    dataset = open_split(saved, args.split, False, run.get("classes"))
    loader = eval_loader(dataset, args.batch_size, args.workers, env)
    sigmoid = run.get("loss") == "bce"
    members = []
    for path, state in zip(args.checkpoint, states):
        model, r, pre = rebuild_classifier(state, path)
        if r.get("num_classes") != run["num_classes"]:
            raise DataError(path, f"has {r.get('num_classes')} classes, the first checkpoint {run['num_classes']}")
        members.append((model.to(env.device), pre.to(env.device)))
    model, preprocess = members[0]

    outputs = [predict(m, loader, pre, env.device, amp=run.get("amp", False)) for m, pre in members]
    logits, targets = outputs[0]
    report = classification_report(logits, targets, sigmoid)
    ensemble = None
    if len(members) > 1:
        single = [classification_report(lg, t, sigmoid)["top1"] for lg, t in outputs]
        vote = majority_vote([lg for lg, _ in outputs])
        ensemble = {"members": single, "vote_top1": (vote == targets).float().mean().item() * 100.0}
    gamma_acc = {}
    for g in [float(g) for g in args.gamma.split(",")] if args.gamma else []:
        preprocess.gamma = g
        gl, gt = predict(model, loader, preprocess, env.device, amp=run.get("amp", False))
        gamma_acc[g] = classification_report(gl, gt, sigmoid)["top1"]
    preprocess.gamma = None
    if env.is_main:
        _report(args, run, dataset, report, ensemble, gamma_acc, data_root, len(members))
    cleanup()
    return report


def _report(args, run: dict, dataset, report: dict, ensemble: dict | None, gamma_acc: dict, data_root,
            n_members: int) -> None:
    ckpt = Path(args.checkpoint[0])
    if ensemble is not None:
        print("bagging members: " + ", ".join(f"{a:.2f} %" for a in ensemble["members"])
              + f"; majority vote {ensemble['vote_top1']:.2f} %")
    print(f"{run['model']} on {run['dataset']} ({args.split}, {len(dataset)} images): "
          f"top-1 {report['top1']:.2f} %, top-5 {report['top5']:.2f} %", end="")
    print(f", macro F1 {report['macro_f1']:.2f} %" if "macro_f1" in report else f", micro F1 {report['micro_f1']:.2f} %")
    if "confusion" in report:
        for name, acc in zip(dataset.classes, report["per_class_accuracy"]):
            print(f"  {name:40s} {acc:6.2f} %")
        save_confusion(report.pop("confusion"), dataset.classes, ckpt.parent / f"confusion_{args.split}",
                       f"{run['model']} / {run['dataset']}")
    variance = None
    if gamma_acc:
        fractions = [a / 100.0 for a in gamma_acc.values()]
        variance = statistics.pvariance(fractions) if len(fractions) > 1 else 0.0
        print("γ robustness: " + ", ".join(f"γ={g}: {a:.2f} %" for g, a in gamma_acc.items())
              + f"; variance of accuracy {variance:.3g}")
    (ckpt.parent / f"metrics_{args.split}.json").write_text(json.dumps(
        {k: v for k, v in report.items() if k != "confusion"}
        | {"gamma": gamma_acc, "gamma_variance": variance, "bagging": ensemble}, indent=1))
    init = args.init or (run.get("weights") or "scratch")
    if ensemble is not None:
        init = f"{init}, bagging ×{n_members}"
        report["top1"] = ensemble["vote_top1"]
    drae = drae_config(run).method
    row = {
        "model": run["model"], "dataset": run["dataset"], "data": data_root or "simulator", "init": init,
        "drae": drae, "loss": run["loss"], "epochs": run["epochs"], "top1": report["top1"], "top5": report["top5"],
        "macro_f1": report.get("macro_f1", ""), "micro_f1": report.get("micro_f1", ""),
        "paper_top1": scene_reference(run["model"], run["dataset"], run["loss"], drae != "none",
                                      init not in ("scratch", None)) or "",
        "gamma_accuracies": " ".join(f"{g}:{a:.2f}" for g, a in gamma_acc.items()),
        "gamma_variance": f"{variance:.3g}" if variance is not None else "", "checkpoint": str(ckpt),
    }
    report_result(args, row, COLUMNS)
