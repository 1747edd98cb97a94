"""Checkpoint and log files: written to a temporary sibling and renamed (a crash never leaves half a file), read
with `weights_only=True` (loading never executes pickled code), holding only tensors and plain values."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import torch

from sarhub.errors import DataError


def atomic_write_bytes(path: str | Path, write: Callable[[Any], None]) -> None:
    """Write through `write(file)` into a temporary sibling, fsync, then rename over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk or an interrupt leaves neither a half file nor an orphan
        raise


def save_checkpoint(state: dict, path: str | Path) -> None:
    atomic_write_bytes(path, lambda f: torch.save(state, f))


def load_checkpoint(path: str | Path) -> dict:
    """Load one of our checkpoints with weights_only=True (never executes pickled code)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "checkpoint not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise DataError(path, f"not a readable checkpoint ({str(exc).splitlines()[0]})") from exc
    if not isinstance(state, dict):
        raise DataError(path, f"not a checkpoint of this project (holds a {type(state).__name__})")
    weights = state.get("model")
    if isinstance(weights, dict):  # NaN weights would be scored, explained or resumed as if they were a model
        bad = [k for k, v in weights.items() if isinstance(v, torch.Tensor) and v.is_floating_point()
               and not torch.isfinite(v).all()]
        if bad:
            raise DataError(path, f"model weights hold NaN/inf ({bad[0]}{', …' if len(bad) > 1 else ''})")
    return state


def write_text_atomic(path: Path, text: str) -> None:
    atomic_write_bytes(path, lambda f: f.write(text.encode()))


def plain(value: Any) -> Any:
    """Args/metrics as JSON- and weights_only-safe plain values."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    return str(value)
