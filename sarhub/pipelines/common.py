"""What the task pipelines' test steps share: rebuilding a classifier run (model + preprocessing) from its
checkpoint, and writing a confusion matrix (CSV + PNG)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from sarhub.backbones import ModelOptions, create_model
from sarhub.checkpoints import load_checkpoint
from sarhub.config import RunOptions, TaskConfig, TestOptions, group, option
from sarhub.errors import ConfigError, WeightsError
from sarhub.hub import InputContract
from sarhub.preprocess import Preprocess


def rebuild_classifier(state: dict, where: str | Path) -> tuple[nn.Module, dict, Preprocess]:
    """(model with the checkpoint's weights, its saved arguments, its test-time preprocessing in eval mode) of a
    classifier checkpoint state written by SAR_scene_classification or target_recognition."""
    run = state.get("args") or {}
    if not {"num_classes", "classes", "norm_mean", "model"} <= set(run) or "model" not in state:
        raise WeightsError(where, "not a classifier checkpoint of target_recognition or SAR_scene_classification")
    contract = InputContract.from_run(run)
    model = create_model(run["model"], num_classes=run["num_classes"], in_chans=contract.in_chans,
                         img_size=contract.img_size)
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as exc:
        raise WeightsError(where, f"its weights do not fit a {run['model']} classifier: "
                                  f"{str(exc).splitlines()[-1].strip()}") from None
    return model.eval(), run, contract.preprocess()


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


@dataclass
class TrainConfig(TaskConfig):
    """What every task that trains a backbone-based network shares: the backbone with its starting weights, and
    where and how the run executes. Task configs add their data, optimiser and model options."""

    model: ModelOptions = group(ModelOptions)
    run: RunOptions = group(RunOptions)


@dataclass
class CocoTestOptions(TestOptions):
    """Test options of the COCO-reading tasks (detection, segmentation): score any COCO set in place, and named
    subsets of the test images apart."""

    ann: str | None = option(None, "score this COCO json instead of the run's test split (with image_dir)")
    image_dir: str | None = option(None, "the folder holding the ann file's images")
    subset: list[str] | None = option(None, "also score the images listed in LIST (one file name per line) as row "
                                            "NAME; repeatable. Default: the dataset's official subsets (SSDD: inshore, "
                                            "offshore) when scoring its test split", metavar="NAME=LIST", repeat=True)
    split: str = option("test", "the run's split scored: test, or val (its validation split; no test file is read)",
                        choices=("test", "val"))


def subset_lists(test_cfg: CocoTestOptions, official: dict[str, str],
                 root: str | Path | None) -> dict[str, Path]:
    """The subset lists a test step scores: `subset` values, else the layout's `official` lists under `root` (only
    for the run's own test split; an `ann` set has no official subsets)."""
    if test_cfg.ann is not None and test_cfg.image_dir is None:
        raise ConfigError("image_dir", "an ann set needs image_dir (the folder of its images)")
    if test_cfg.subset is not None:
        pairs = [value.partition("=") for value in test_cfg.subset]
        bad = [value for value, (name, eq, path) in zip(test_cfg.subset, pairs) if not (name and eq and path)]
        if bad:
            raise ConfigError("subset", f"takes NAME=LIST, got {bad[0]!r}")
        return {name: Path(path) for name, _, path in pairs}
    if test_cfg.ann is not None or root is None or test_cfg.split != "test":
        return {}
    return {name: Path(root) / path for name, path in official.items()}


def save_image_grid(rows: Sequence[Sequence[tuple]], path: Path, panel: tuple[float, float] = (2.4, 2.4),
                    dpi: int = 100, fontsize: int = 8) -> None:
    """A PNG of image panels: one sequence of (image, title, imshow keywords) per row, axes hidden."""
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
