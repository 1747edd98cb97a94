"""Shared fixtures: the real SAR sample data folder (skipped cleanly when absent) and single-threaded torch."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


def shared_data_root() -> Path:
    """`SARHUB_SHARED_DATA` or the `../shared/data` folder beside the checkout."""
    return Path(os.environ.get("SARHUB_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    root = shared_data_root()
    if not root.is_dir():
        pytest.skip(f"real SAR sample data not found at {root} (set SARHUB_SHARED_DATA)")
    return root


@pytest.fixture(autouse=True)
def _deterministic_torch():
    torch.manual_seed(0)
    yield
