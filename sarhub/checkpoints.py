"""Checkpoint and log files: written to a temporary sibling and renamed (a crash never leaves half a file), read
with `weights_only=True` (loading never executes pickled code), holding only tensors and plain values."""
from __future__ import annotations

import errno
import io
import os
import shutil
import uuid
import warnings
from pathlib import Path
from typing import Any, TypeVar

import torch

from sarhub.errors import WeightsError

T = TypeVar("T")


def atomic_write(path: str | Path, data: bytes | memoryview) -> None:
    """The one atomic write: into a uniquely named temporary sibling, fsync, then rename over `path` (a crash never
    leaves half a file, and two writers never share a temporary). A disk without room for `data` is refused before
    anything is written (OSError ENOSPC, one line in the scripts); the file gets the user's umask."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(path.parent).free
    if len(data) + (1 << 20) > free:
        raise OSError(errno.ENOSPC, f"No space left on device ({len(data) / 2**20:.1f} MiB to write, "
                                    f"{free / 2**20:.1f} MiB free)", str(path))
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}.{uuid.uuid4().hex[:8]}")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk or an interrupt leaves neither a half file nor an orphan
        raise


def save_checkpoint(state: dict, path: str | Path) -> None:
    """Serialised in memory first: torch's zip writer hides a full disk behind a generic error, our write does not."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write(path, buffer.getbuffer())


def load_checkpoint(path: str | Path) -> dict:
    """Load one of our checkpoints with weights_only=True (never executes pickled code)."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(path, "checkpoint not found")
    try:
        with warnings.catch_warnings():  # torch warns about foreign pickles before refusing them: one line is ours
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(path, f"not a readable checkpoint ({str(exc).splitlines()[0]})") from exc
    if not isinstance(state, dict):
        raise WeightsError(path, f"not a checkpoint of this project (holds a {type(state).__name__})")
    weights = state.get("model")
    if isinstance(weights, dict):  # NaN weights would be scored, explained or resumed as if they were a model
        bad = [k for k, v in weights.items() if isinstance(v, torch.Tensor) and v.is_floating_point()
               and not torch.isfinite(v).all()]
        if bad:
            raise WeightsError(path, f"model weights hold NaN/inf ({bad[0]}{', …' if len(bad) > 1 else ''})")
    return state


def write_text_atomic(path: str | Path, text: str) -> None:
    atomic_write(path, text.encode())


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


def load_run(path: str | Path, config: type[T]) -> tuple[T, dict]:
    """(the run's config, the checkpoint state) of a checkpoint written by `config`'s task; WeightsError when it is
    another task's or no run's."""
    state = load_checkpoint(path)
    return config.from_args(state.get("args") or {}, path), state
