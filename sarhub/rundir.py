"""An output folder belongs to one run: a lock held while the run lives, and no finished work is ever lost.

A folder that holds checkpoints is refused unless the run resumes from it (`--resume auto`, or a checkpoint inside
it) or `--overwrite` is given; a second run on a folder in use is refused while the first holds the lock
(`filelock`; the OS drops it when the process dies, even by SIGKILL). `--overwrite` moves the old run into
`<output>/.previous` and deletes it only once the new run's first checkpoint exists: a new run that fails before
then puts the old one back, and one killed in between leaves it in `.previous`. A resumed run must be the run its args.json describes (`changed_settings`).
"""
from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from filelock import FileLock, Timeout

from sarhub.errors import RunDirError

LOCK_NAME = ".run.lock"
PREVIOUS = ".previous"  # where --overwrite keeps the old run until the new one has a checkpoint
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
    `overwrite`, which moves the old run into `.previous` (deleted by `clear_previous_run` once the new run's first
    checkpoint is written). Non-main DDP ranks only wait for rank 0."""
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
        raise RunDirError(out, "another run is using this output folder (its lock is held); wait for it or choose "
                               "another output folder") from None
    except OSError as exc:
        raise RunDirError(out, f"cannot lock the output folder ({exc.strerror})") from None
    _held[out] = [lock, 1]
    try:
        for stale in out.glob(".*.tmp*"):
            stale.unlink(missing_ok=True)
        existing = sorted(p.name for p in out.glob("checkpoint*.pth"))
        if existing and not overwrite and not _resumes_here(out, resume):
            raise RunDirError(out, f"already holds a run ({', '.join(existing[:3])}); continue it with resume "
                                   "(--resume auto), replace it with overwrite (--overwrite), or choose another folder")
        moved = bool(existing and overwrite)
        if moved:
            _move_aside(out)
        try:
            yield out
        except BaseException:
            if moved and (out / PREVIOUS).is_dir() and not any(out.glob("checkpoint*.pth")):
                _restore(out)  # the new run failed before its first checkpoint: the old one is back in place
            raise
    finally:
        _held.pop(out, None)
        lock.release()


def _move_aside(out: Path) -> None:
    """Everything of the old run (but the lock) into `.previous`; an older `.previous` is the same old run's
    remains only if no new checkpoint was ever written, so it is replaced."""
    previous = out / PREVIOUS
    if previous.exists():
        shutil.rmtree(previous)
    previous.mkdir()
    for path in out.iterdir():
        if path.name not in (LOCK_NAME, PREVIOUS):
            path.rename(previous / path.name)


def _restore(out: Path) -> None:
    """Undo `_move_aside`: the new run's partial files go, the old run's come back."""
    for path in out.iterdir():
        if path.name not in (LOCK_NAME, PREVIOUS):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    for path in (out / PREVIOUS).iterdir():
        path.rename(out / path.name)
    (out / PREVIOUS).rmdir()


def clear_previous_run(out: str | Path) -> None:
    """--overwrite: delete the old run kept in `.previous` (called once the new run's first checkpoint exists)."""
    shutil.rmtree(Path(out) / PREVIOUS, ignore_errors=True)


def changed_settings(saved: Mapping[str, Any], now: Mapping[str, Any], names: Iterable[str]) -> list[str]:
    """'name: saved → now' for each of `names` whose value differs between a run's args.json and this command."""
    def norm(value: Any) -> Any:
        return list(value) if isinstance(value, tuple) else value
    return [f"{name}: {saved[name]!r} → {now[name]!r}" for name in names
            if name in saved and name in now and norm(saved[name]) != norm(now[name])]
