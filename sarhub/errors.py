"""The errors a user can cause, one class per kind, so scripts print one clear line instead of a traceback.

Every error names where the problem is (a file, a folder or a setting) and what is wrong. The scripts catch
`SarHubError` (`sarhub.cli.run_main`) and exit with status 2; a library user can catch the kind they care about.
"""
from __future__ import annotations

from pathlib import Path

_WORKER_PREFIX = "Caught "


class SarHubError(ValueError):
    """Base class: `where` (a path or a setting name, or None) and `problem`; str() is one line."""

    def __init__(self, where: str | Path | None, problem: str | None = None):
        # Error(message) also works: DataLoader workers re-raise exceptions with the message as sole argument.
        if problem is None:
            where, problem = None, _from_worker(str(where))
        self.where = None if where is None else str(where)
        self.problem = problem
        super().__init__(f"{self.where}: {problem}" if self.where else problem)

    @property
    def path(self) -> str | None:
        return self.where


class DataError(SarHubError):
    """Bad input data: a missing, unreadable or malformed file, labels or annotations that do not fit."""


class ConfigError(SarHubError):
    """A setting with a bad value, an unknown setting, or settings that contradict each other; names the setting."""


class WeightsError(SarHubError):
    """Weights or a checkpoint that cannot be used: not found, unsafe, unverified, or not fitting the network."""


class RunDirError(SarHubError):
    """An output folder that cannot hold this run: in use, holding another run, or not writable."""


class TrainingError(SarHubError):
    """A run that went wrong while training (a non-finite loss), with what to change."""


def _from_worker(message: str) -> str:
    """A DataLoader worker re-raises an error as Error('Caught DataError in DataLoader worker N ... Original
    Traceback ... sarhub.errors.DataError: <message>'): keep the original one-line message."""
    if not message.startswith(_WORKER_PREFIX) or "Original Traceback" not in message:
        return message
    last = [line for line in message.splitlines() if line.strip()][-1]
    marker = "Error: "
    return last.split(marker, 1)[1] if marker in last else last
