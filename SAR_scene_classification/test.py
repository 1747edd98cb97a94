"""Evaluate a scene-classification checkpoint and append a row to results.md/.csv (layout of Tables 1 and 3).

    python test.py --checkpoint runs/TSX_resnet50/checkpoint_best.pth
    python test.py --checkpoint ... --gamma 0.95,0.98,0.99,1.0,1.01,1.02,1.05     # Table 2 robustness test

Reports top-1/top-5, per-class accuracy, macro F1 (micro F1 for multi-label BEN), saves the confusion matrix
(PNG + CSV) beside the checkpoint; the data path, DRAE setting and normalisation come from the checkpoint.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sarhub import create_model
from sarhub.classification import (build_transform, drae_config, eval_loader, predict, preprocess_from_run,
                                   save_confusion_png)
from sarhub.cli import report_result, run_main
from sarhub.data.scene import open_scene_split
from sarhub.distributed import cleanup, init_distributed
from sarhub.engine import load_checkpoint
from sarhub.errors import DataError
from sarhub.metrics.classification import classification_report, majority_vote
from sarhub.paper import scene_reference

HERE = Path(__file__).resolve().parent
COLUMNS = ("model", "dataset", "data", "init", "drae", "loss", "epochs", "top1", "top5", "macro_f1", "micro_f1",
           "paper_top1", "gamma_accuracies", "gamma_variance", "checkpoint")


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", required=True, nargs="+",
                   help="a checkpoint written by train.py; several (bagging members) are also scored as a vote")
    p.add_argument("--data-root", default=None, help="override the data root stored in the checkpoint")
    p.add_argument("--split", default="test", choices=["train", "val", "test"])
    p.add_argument("--gamma", default=None, help="comma-separated γ values for the robustness test (Table 2)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--device", default="auto")
    p.add_argument("--init", default=None, help="label of the initialisation for the table (default from args)")
    p.add_argument("--results", default=str(HERE / "results"), help="results table path without extension")
    p.add_argument("--no-append", action="store_true", help="print only, do not append to the results table")
    return p


def main(argv=None) -> None:
    args = get_parser().parse_args(argv)
    env = init_distributed(args.device)
    states = [load_checkpoint(c) for c in args.checkpoint]
    run = states[0].get("args") or {}
    if "num_classes" not in run:
        raise DataError(args.checkpoint[0], "has no training arguments: not a SAR_scene_classification checkpoint")
    data_root = args.data_root or run.get("data_root")
    lists = dict(item.split("=", 1) for item in run.get("split_file") or [])
    dataset = open_scene_split(run["dataset"], data_root, args.split, build_transform(run["img_size"], False),
                               run["seed"], tuple(run.get("bands", "VV").split(",")), run.get("sim_classes", 8),
                               run.get("sim_per_class", 60), split_dir=run.get("split_dir") or run.get("output"),
                               split_file=lists.get(args.split), classes=run.get("classes"))
    loader = eval_loader(dataset, args.batch_size, args.workers, env)
    sigmoid = run.get("loss") == "bce"
    members = []
    for path, state in zip(args.checkpoint, states):
        r = state.get("args") or {}
        if r.get("num_classes") != run["num_classes"]:
            raise DataError(path, f"has {r.get('num_classes')} classes, the first checkpoint {run['num_classes']}")
        model = create_model(r["model"], num_classes=r["num_classes"], in_chans=r["in_chans"], img_size=r["img_size"])
        model.load_state_dict(state["model"])
        pre = preprocess_from_run(r).to(env.device)
        members.append((model.to(env.device), pre))
    model, preprocess = members[0]

    outputs = [predict(m, loader, pre, env.device, amp=run.get("amp", False)) for m, pre in members]
    logits, targets = outputs[0]
    report = classification_report(logits, targets, sigmoid)
    ensemble = None
    if len(members) > 1:
        single = [classification_report(l, t, sigmoid)["top1"] for l, t in outputs]
        vote = majority_vote([l for l, _ in outputs])
        ensemble = {"members": single, "vote_top1": (vote == targets).float().mean().item() * 100.0}
    gammas = [float(g) for g in args.gamma.split(",")] if args.gamma else []
    gamma_acc = {}
    for g in gammas:
        preprocess.gamma = g
        gl, gt = predict(model, loader, preprocess, env.device, amp=run.get("amp", False))
        gamma_acc[g] = classification_report(gl, gt, sigmoid)["top1"]
    preprocess.gamma = None
    if not env.is_main:
        cleanup()
        return

    ckpt = Path(args.checkpoint[0])
    if ensemble is not None:
        print("bagging members: " + ", ".join(f"{a:.2f} %" for a in ensemble["members"])
              + f"; majority vote {ensemble['vote_top1']:.2f} %")
    print(f"{run['model']} on {run['dataset']} ({args.split}, {len(dataset)} images): "
          f"top-1 {report['top1']:.2f} %, top-5 {report['top5']:.2f} %", end="")
    print(f", macro F1 {report['macro_f1']:.2f} %" if "macro_f1" in report else f", micro F1 {report['micro_f1']:.2f} %")
    if "confusion" in report:
        classes = dataset.classes
        for name, acc in zip(classes, report["per_class_accuracy"]):
            print(f"  {name:40s} {acc:6.2f} %")
        cm = report.pop("confusion")
        stem = ckpt.parent / f"confusion_{args.split}"
        save_confusion_png(cm, classes, stem.with_suffix(".png"), f"{run['model']} / {run['dataset']}")
        stem.with_suffix(".csv").write_text(
            "true\\pred," + ",".join(classes) + "\n"
            + "\n".join(f"{c}," + ",".join(str(int(v)) for v in row) for c, row in zip(classes, cm.tolist())) + "\n")
    variance = None
    if gamma_acc:
        fractions = [a / 100.0 for a in gamma_acc.values()]
        variance = statistics.pvariance(fractions) if len(fractions) > 1 else 0.0
        print("γ robustness: " + ", ".join(f"γ={g}: {a:.2f} %" for g, a in gamma_acc.items())
              + f"; variance of accuracy {variance:.3g}")
    (ckpt.parent / f"metrics_{args.split}.json").write_text(json.dumps(
        {k: v for k, v in report.items() if k != "confusion"}
        | {"gamma": gamma_acc, "gamma_variance": variance, "bagging": ensemble},
        indent=1))

    init = args.init or (run.get("weights") or "scratch")
    if ensemble is not None:
        init = f"{init}, bagging ×{len(members)}"
        report["top1"] = ensemble["vote_top1"]
    pretrained = init not in ("scratch", None)
    drae = drae_config(run).method
    row = {
        "model": run["model"], "dataset": run["dataset"], "data": data_root or "simulator", "init": init,
        "drae": drae, "loss": run["loss"], "epochs": run["epochs"], "top1": report["top1"],
        "top5": report["top5"], "macro_f1": report.get("macro_f1", ""), "micro_f1": report.get("micro_f1", ""),
        "paper_top1": scene_reference(run["model"], run["dataset"], run["loss"], drae != "none",
                                      pretrained) or "",
        "gamma_accuracies": " ".join(f"{g}:{a:.2f}" for g, a in gamma_acc.items()),
        "gamma_variance": f"{variance:.3g}" if variance is not None else "", "checkpoint": str(ckpt),
    }
    report_result(args, row, COLUMNS)
    cleanup()


if __name__ == "__main__":
    run_main(main)
