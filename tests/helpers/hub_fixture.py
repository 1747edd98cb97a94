"""A finished tiny classifier run for the Model-Hub tests: a ResNet-18 checkpoint with a TSX run's saved arguments."""
from __future__ import annotations

from pathlib import Path

import torch

from sarhub import create_model

RUN_ARGS = {"model": "resnet18", "num_classes": 3, "in_chans": 1, "img_size": 40, "input_size": 32, "dataset": "TSX",
            "drae_method": "rd", "drae_range": [3.5, 4.5], "drae_test": 4.0, "drae_xavg": 0.169,
            "norm_mean": [0.2], "norm_std": [0.05], "per_image_norm": True, "log_transform": 0.0}


def write_run(folder: Path) -> tuple[torch.nn.Module, Path]:
    model = create_model("resnet18", num_classes=3, img_size=32).eval()
    ckpt = folder / "run" / "checkpoint_best.pth"
    ckpt.parent.mkdir(parents=True)
    torch.save({"model": model.state_dict(), "epoch": 7, "args": RUN_ARGS}, ckpt)
    return model, ckpt
