"""What the task pipelines' test steps share: rebuilding a classifier run (model + preprocessing) from its
checkpoint, and writing a confusion matrix (CSV + PNG)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from sarhub.backbones import create_model
from sarhub.checkpoints import load_checkpoint
from sarhub.classification import Preprocess, model_input_size, preprocess_from_run
from sarhub.errors import DataError


def rebuild_classifier(state: dict, where: str | Path) -> tuple[nn.Module, dict, Preprocess]:
    """(model with the checkpoint's weights, its saved arguments, its test-time preprocessing in eval mode) of a
    classifier checkpoint state written by SAR_scene_classification or target_recognition."""
    run = state.get("args") or {}
    if not {"num_classes", "classes", "norm_mean", "model"} <= set(run) or "model" not in state:
        raise DataError(where, "not a classifier checkpoint of target_recognition or SAR_scene_classification")
    model = create_model(run["model"], num_classes=run["num_classes"], in_chans=run.get("in_chans", 1),
                         img_size=model_input_size(run))
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as exc:
        raise DataError(where, f"its weights do not fit a {run['model']} classifier: "
                               f"{str(exc).splitlines()[-1].strip()}") from None
    return model.eval(), run, preprocess_from_run(run)


def load_classifier(path: str | Path, device: torch.device | str = "cpu") -> tuple[nn.Module, dict, Preprocess]:
    """`rebuild_classifier` of the checkpoint file at `path`, model moved to `device`."""
    model, run, preprocess = rebuild_classifier(load_checkpoint(path), path)
    return model.to(device), run, preprocess


def write_confusion_csv(cm: torch.Tensor, classes: Sequence[str], path: Path) -> None:
    """Rows true, columns predicted, counts; the header row names the classes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("true\\pred," + ",".join(classes) + "\n"
                    + "".join(f"{c}," + ",".join(str(int(v)) for v in row) + "\n" for c, row in zip(classes, cm.tolist())))


def save_confusion(cm: torch.Tensor, classes: Sequence[str], stem: Path, title: str = "") -> None:
    """`<stem>.csv` (counts) and `<stem>.png` (row-normalised figure)."""
    write_confusion_csv(cm, classes, stem.with_suffix(".csv"))
    save_confusion_png(cm, classes, stem.with_suffix(".png"), title)


def save_confusion_png(cm: torch.Tensor, classes: Sequence[str], path: Path, title: str = "") -> None:
    """Row-normalised confusion matrix as a PNG (rows true, columns predicted)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    norm = cm.double() / cm.sum(dim=1, keepdim=True).clamp_min(1)
    n = len(classes)
    size = max(4.0, 0.35 * n + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(norm.numpy(), cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(n), classes, rotation=90, fontsize=7)
    ax.set_yticks(range(n), classes, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if n <= 20:
        for i in range(n):
            for j in range(n):
                if cm[i, j]:
                    ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=6,
                            color="white" if norm[i, j] > 0.5 else "black")
    ax.set_title(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def save_image_grid(rows: Sequence[Sequence[tuple]], path: Path, panel: tuple[float, float] = (2.4, 2.4),
                    dpi: int = 100, fontsize: int = 8) -> None:
    """A PNG of image panels: one sequence of (image, title, imshow keywords) per row, axes hidden."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = max(len(row) for row in rows)
    fig, axes = plt.subplots(len(rows), columns, figsize=(panel[0] * columns, panel[1] * len(rows)), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax_row, row in zip(axes, rows):
        for ax, (image, title, kwargs) in zip(ax_row, row):
            ax.imshow(image, **kwargs)
            ax.set_title(title, fontsize=fontsize)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
