"""Linear evaluation of frozen fusion features: a 1×1-conv classifier on labelled patches, scored on the test split.

    python linear_eval.py --checkpoint runs/early/checkpoint_last.pth runs/sar/checkpoint_last.pth ...
    python linear_eval.py --checkpoint ... --data-root /data/DFC2020/val --test-root /data/DFC2020/test --labels dfc

The encoder is frozen, so per-pixel features are computed once: `--pixels-per-patch` random labelled pixels of
every training patch train the classifier (a 1×1 convolution is a linear map per pixel; AdamW, full batch), then it
labels every pixel of the test patches. Reports overall accuracy, average (mean per-class) accuracy, mIoU and
per-class accuracy, writes the confusion matrix (CSV + PNG) per model and one row per model to the results table.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sarhub.classification import save_confusion_png  # noqa: E402
from sarhub.cli import append_result, run_main  # noqa: E402
from sarhub.data.sen12ms import CLASSES  # noqa: E402
from sarhub.fusion.data import add_data_args, load_fusion_model, pixel_features, sample_pixels, splits  # noqa: E402
from sarhub.metrics.segmentation import ConfusionMatrix, land_cover_scores  # noqa: E402

HERE = Path(__file__).resolve().parent
COLUMNS = ("strategy", "checkpoint", "overall_accuracy", "average_accuracy", "miou", "data", "train_patches",
           "test_patches")


def train_linear(x: torch.Tensor, y: torch.Tensor, num_classes: int, steps: int, lr: float, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    mean, std = x.mean(dim=0), x.std(dim=0).clamp_min(1e-6)
    head = nn.Conv2d(x.shape[1], num_classes, 1)
    opt = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=1e-4)
    xs = ((x - mean) / std)[:, :, None, None]
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.cross_entropy(head(xs).flatten(1), y).backward()
        opt.step()
    with torch.no_grad():  # fold the standardisation into the 1×1 convolution
        head.weight /= std[None, :, None, None]
        head.bias -= (head.weight[:, :, 0, 0] * mean).sum(dim=1)
    return head


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", nargs="+", required=True, help="checkpoints written by pretrain.py")
    p.add_argument("--data-root", default=None, help="labelled patches (default: the simulator)")
    add_data_args(p)
    p.add_argument("--pixels-per-patch", type=int, default=1000)
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--results", default=str(HERE / "results" / "linear_eval"))
    args = p.parse_args(argv)
    device = torch.device(args.device)
    for checkpoint in args.checkpoint:
        model, run = load_fusion_model(checkpoint, device)
        train, test = splits(args, model.modalities, args.labels)
        x, y = sample_pixels(model, train, device, args.pixels_per_patch, args.seed)
        head = train_linear(x, y, len(CLASSES), args.steps, args.lr, args.seed).to(device)
        cm = ConfusionMatrix(len(CLASSES), device=device)
        for feats, batch in pixel_features(model, test, device):
            cm.update(head(feats), batch["mask"].to(device))
        scores = land_cover_scores(cm.mat, CLASSES)
        per_class = ", ".join(f"{k[4:]} {v:.1f}" for k, v in scores.items() if k.startswith("acc_"))
        print(f"{run.strategy}: OA {scores['overall_accuracy']:.2f} %, AA {scores['average_accuracy']:.2f} %, "
              f"mIoU {scores['miou']:.2f} % | per-class accuracy: {per_class}")
        stem = Path(args.results).parent / f"confusion_{run.strategy}"
        stem.parent.mkdir(parents=True, exist_ok=True)
        present = torch.nonzero(cm.mat.sum(dim=1) + cm.mat.sum(dim=0) > 0).flatten()
        sub = cm.mat[present][:, present].cpu()
        names = [CLASSES[i] for i in present.tolist()]
        stem.with_suffix(".csv").write_text(
            "true\\pred," + ",".join(names) + "\n" +
            "\n".join(n + "," + ",".join(str(int(v)) for v in row) for n, row in zip(names, sub)) + "\n")
        save_confusion_png(sub, names, stem.with_suffix(".png"), f"{run.strategy}: linear evaluation")
        append_result(Path(args.results), {**scores, "strategy": run.strategy, "checkpoint": str(checkpoint),
                                           "data": args.data_root or "simulator", "train_patches": len(train),
                                           "test_patches": len(test)},
                      COLUMNS + tuple(f"acc_{c}" for c in names))


if __name__ == "__main__":
    run_main(main)
