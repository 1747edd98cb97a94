"""One exception type for bad user input, so scripts can print one clear line instead of a deep traceback."""
from __future__ import annotations

from pathlib import Path

_WORKER_PREFIX = "Caught DataError in DataLoader worker"


class DataError(ValueError):
    """Bad input data or weights: the message always names the offending file and what is wrong with it."""

    def __init__(self, path: str | Path | None, problem: str | None = None):
        # DataError(message) also works: DataLoader workers re-raise exceptions with the message as sole argument.
        if problem is None:
            path, problem = None, _from_worker(str(path))
        self.path = None if path is None else str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path else problem)


def _from_worker(message: str) -> str:
    """A DataLoader worker re-raises a DataError as DataError('Caught DataError in DataLoader worker N ...
    Original Traceback ... sarhub.errors.DataError: <message>'): keep the original one-line message."""
    if not message.startswith(_WORKER_PREFIX):
        return message
    marker = "DataError: "
    last = [line for line in message.splitlines() if line.strip()][-1]
    return last.split(marker, 1)[1] if marker in last else last
