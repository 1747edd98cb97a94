"""One exception type for bad user input, so scripts can print one clear line instead of a deep traceback."""
from __future__ import annotations

from pathlib import Path


class DataError(ValueError):
    """Bad input data or weights: the message always names the offending file and what is wrong with it."""

    def __init__(self, path: str | Path | None, problem: str | None = None):
        # DataError(message) also works: DataLoader workers re-raise exceptions with the message as sole argument.
        if problem is None:
            path, problem = None, str(path)
        self.path = None if path is None else str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path else problem)
