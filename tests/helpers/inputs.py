"""Helpers of the bad-input tests: task scripts imported by path and run as a user runs them (`run_main`), the
one-line check, and tiny data sets in real on-disk layouts."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from sarhub.cli import run_main

REPO = Path(__file__).resolve().parents[2]
TINY = ["--sim-classes", "3", "--sim-per-class", "12", "--img-size", "32", "--batch-size", "8", "--workers", "0",
        "--model", "resnet18", "--epochs", "1"]
TARGET = ["--sim-per-class", "4", "--img-size", "32", "--crop", "32", "--batch-size", "8", "--workers", "0",
          "--epochs", "1"]


def script(task: str, name: str):
    """Import a task script by path under a unique module name (several tasks have a train.py)."""
    path = REPO / task / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_{task}_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # scripts import only sarhub, so nothing is added to the import path
    return module


def one_line_error(capsys, action: Callable[[], None], code: int = 2) -> str:
    """Run `action` as a script runs (run_main); it must exit with `code` and one error line, no traceback and no
    warning before it."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        run_main(action)
    err = capsys.readouterr().err
    assert exit_info.value.code == code, err[-2000:]
    assert "Traceback" not in err and "Warning" not in err and "usage:" not in err, err[-3000:]
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1, err[-3000:]
    return errors[0]


def npy_set(root: Path, shapes: dict[str, list[tuple]], bad: dict[str, bytes] | None = None) -> Path:
    """A tiny scene set in the authors' layout: class folders of float .npy files in [0, 1], plus bad files."""
    for cls, class_shapes in shapes.items():
        (root / cls).mkdir(parents=True, exist_ok=True)
        for i, shape in enumerate(class_shapes):
            np.save(root / cls / f"{i}.npy", np.random.default_rng(i).random(shape).astype(np.float32))
    for rel, content in (bad or {}).items():
        (root / rel).write_bytes(content)
    return root


def mstar_set(root: Path, train: tuple[str, ...], test: tuple[str, ...], n: int = 3) -> Path:
    """MSTAR's class-folder layout with random 8-bit chips."""
    from PIL import Image

    for split, classes in (("train", train), ("test", test)):
        for c, cls in enumerate(classes):
            (root / split / cls).mkdir(parents=True, exist_ok=True)
            for i in range(n):
                chip = np.random.default_rng(10 * c + i).integers(0, 255, (40, 40), dtype=np.uint8)
                Image.fromarray(chip).save(root / split / cls / f"{i}.png")
    return root


def files_of(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (relative path → bytes), to compare a folder before and after a command."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
