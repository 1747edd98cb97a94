"""Pipelines run in-process on the simulator: its cache goes into the test's tmp_path."""
import pytest


@pytest.fixture(autouse=True)
def simulator_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SARHUB_CACHE", str(tmp_path / "cache"))
