"""Shared fixtures: the real SAR sample data folder (skipped cleanly when absent), a seeded torch, and a user home
without Model-Hub registrations."""
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


@pytest.fixture
def user_home(tmp_path, monkeypatch):
    """A user with no registrations of their own: manifest and cache inside tmp_path."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SARHUB_MANIFEST", str(tmp_path / "manifest.json"))
    monkeypatch.delenv("SARHUB_WEIGHTS", raising=False)
    return tmp_path
