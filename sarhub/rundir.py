"""An output folder belongs to one run: a lock held while the run lives, and no finished work is ever replaced.

Re-running a command without `--resume` used to replace its checkpoints after one epoch, and two runs given the
same `--output` both wrote into it. Now a folder that holds checkpoints is refused unless the run resumes from it
(`--resume auto`, or a checkpoint inside it) or `--overwrite` is given, and a second run on a folder in use is
refused while the first holds the lock (`filelock`; the OS drops it when the process dies, even by SIGKILL).
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

from filelock import FileLock, Timeout

from sarhub.errors import DataError

LOCK_NAME = ".run.lock"
RUN_FILES = ("checkpoint*.pth", "log.csv", "log.json", "args.json")
_held: dict[Path, list] = {}  # folder -> [lock, depth]: nested claims by one process share one lock


def _resumes_here(out: Path, resume: str | None) -> bool:
    if resume is None:
        return False
    if resume == "auto":
        return True
    return Path(resume).resolve().parent == out.resolve()


@contextlib.contextmanager
def claim_run_dir(out: str | Path, resume: str | None = None, overwrite: bool = False,
                  is_main: bool = True) -> Iterator[Path]:
    """Hold `out` for this run (re-entrant within one process). On the first claim: take the lock, remove stale
    temporary files of killed writes, refuse a folder that holds checkpoints unless this run resumes from it or
    `overwrite` (the engine then removes the old run's files just before its first checkpoint, `clear_previous_run`,
    so a new run that fails early still leaves the old one). Non-main DDP ranks only wait for rank 0."""
    out = Path(out).resolve()
    if not is_main:
        yield out
        return
    if out in _held:
        _held[out][1] += 1
        try:
            yield out
        finally:
            _held[out][1] -= 1
        return
    out.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(out / LOCK_NAME))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise DataError(out, "another run is using this output folder (its lock is held); wait for it or choose "
                             "another --output") from None
    except OSError as exc:
        raise DataError(out, f"cannot lock the output folder ({exc.strerror})") from None
    _held[out] = [lock, 1]
    try:
        for stale in out.glob(".*.tmp*"):
            stale.unlink(missing_ok=True)
        existing = sorted(p.name for p in out.glob("checkpoint*.pth"))
        if existing and not overwrite and not _resumes_here(out, resume):
            raise DataError(out, f"already holds a run ({', '.join(existing[:3])}); continue it with --resume auto, "
                                 "replace it with --overwrite, or choose another --output")
        yield out
    finally:
        _held.pop(out, None)
        lock.release()


def clear_previous_run(out: str | Path) -> None:
    """--overwrite: remove the checkpoints, logs and args.json a previous run left (called before the first new
    checkpoint is written)."""
    for pattern in RUN_FILES:
        for path in Path(out).glob(pattern):
            path.unlink()
