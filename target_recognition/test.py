"""Evaluate a target-recognition checkpoint: overall and per-class accuracy, macro F1, confusion matrix (PNG + CSV),
and a Table-6 row (backbone, pre-training source, setting, accuracy) appended to results.md/.csv.

    python test.py --checkpoint runs/mstar100_resnet18/checkpoint_last.pth --init TSX
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from train import get_parser, open_datasets  # noqa: E402  (the sibling script)

from sarhub import create_model  # noqa: E402
from sarhub.classification import (eval_loader, model_input_size, predict, preprocess_from_run,  # noqa: E402
                                   save_confusion_png)
from sarhub.cli import load_run, report_result, run_main, test_parser  # noqa: E402
from sarhub.distributed import cleanup, init_distributed  # noqa: E402
from sarhub.errors import DataError  # noqa: E402
from sarhub.metrics.classification import classification_report  # noqa: E402
from sarhub.paper import TABLE6, init_label  # noqa: E402

HERE = Path(__file__).resolve().parent
COLUMNS = ("model", "init", "setting", "data", "train_images", "epochs", "accuracy", "macro_f1", "paper_accuracy",
           "checkpoint")


def setting_name(run: argparse.Namespace, test_set) -> str:
    """The Table-6 column; an MSTAR test folder other than test/ (EOC: TEST_30) is named in it."""
    if run.dataset == "mstar":
        folder = test_set.split_folder.name
        return f"mstar-{int(round(run.fraction * 100))}" + ("" if folder.lower() == "test" else f"-{folder}")
    return f"oss-{run.scale}" if run.dataset == "opensarship" else "fusar"


def main(argv=None) -> None:
    p = test_parser(__doc__.splitlines()[0], HERE / "results")
    p.add_argument("--batch-size", type=int, default=64)
    args = p.parse_args(argv)
    env = init_distributed(args.device)
    state, run = load_run(args.checkpoint, "fraction", "target_recognition", get_parser())
    run.data_root = args.data_root or run.data_root
    ckpt = Path(args.checkpoint)
    train_set, test_set = open_datasets(run, Path(run.output))
    if list(train_set.classes) != list(run.classes):  # the label map must be the one the model learned
        raise DataError(run.data_root, f"its training classes are now {', '.join(train_set.classes)}, the checkpoint "
                                       f"learned {', '.join(run.classes)}")
    model = create_model(run.model, num_classes=run.num_classes, in_chans=run.in_chans,
                         img_size=model_input_size(vars(run)))
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as exc:
        raise DataError(args.checkpoint, f"its weights do not fit {run.model}: {str(exc).splitlines()[-1]}") from None
    pre = preprocess_from_run(vars(run)).to(env.device)
    logits, targets = predict(model.to(env.device), eval_loader(test_set, args.batch_size, 0, env), pre, env.device,
                             amp=run.amp)  # the precision training scored in, so the logged figure is reproduced
    report = classification_report(logits, targets)
    if not env.is_main:
        cleanup()
        return
    setting = setting_name(run, test_set)
    print(f"{run.model} on {setting} ({len(test_set)} test chips): accuracy {report['top1']:.2f} %, "
          f"macro F1 {report['macro_f1']:.2f} %")
    for name, acc in zip(test_set.classes, report["per_class_accuracy"]):
        print(f"  {name:12s} {acc:6.2f} %")
    cm = report["confusion"]
    save_confusion_png(cm, test_set.classes, ckpt.parent / "confusion_test.png", f"{run.model} / {setting}")
    (ckpt.parent / "confusion_test.csv").write_text(
        "true\\pred," + ",".join(test_set.classes) + "\n"
        + "".join(f"{c}," + ",".join(str(int(v)) for v in row) + "\n" for c, row in zip(test_set.classes, cm.tolist())))
    init = args.init or init_label(run.weights)
    paper = TABLE6.get(run.model, {}).get(init, {}).get(setting)
    row = {"model": run.model, "init": init, "setting": setting, "data": run.data_root or "simulator",
           "train_images": len(train_set), "epochs": run.epochs, "accuracy": report["top1"],
           "macro_f1": report["macro_f1"], "paper_accuracy": paper if paper is not None else "",
           "checkpoint": str(ckpt)}
    report_result(args, row, COLUMNS)
    cleanup()


if __name__ == "__main__":
    run_main(main)
