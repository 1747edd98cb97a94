"""Where the real sample data lives: `$SARHUB_SHARED_DATA`, else a `shared/data` folder beside the checkout or
the current folder (the project's `../shared/data` layout). Scripts and the benchmark default to it; nothing is
ever written there."""
from __future__ import annotations

import os
from pathlib import Path

ENV = "SARHUB_SHARED_DATA"


def shared_data_root() -> Path | None:
    """The real sample-data folder, or None when there is none."""
    if os.environ.get(ENV):
        path = Path(os.environ[ENV])
        return path if path.is_dir() else None
    here = Path(__file__).resolve()
    for base in (Path.cwd(), *Path.cwd().parents, *here.parents):
        candidate = base / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return None
