"""The bad-input tests share one simulator cache (the simulated sets are written once for all cases) and one
finished tiny scene run, copied by the cases that change it."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers.inputs import TINY, script

SCENE = script("SAR_scene_classification", "train")


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("SARHUB_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="session")
def _finished_scene(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("finished") / "scene"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SARHUB_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
        SCENE.main([*TINY, "--output", str(out)])
    return out


@pytest.fixture
def finished_scene(_finished_scene, tmp_path) -> Path:
    """A copy of a finished one-epoch scene run (TINY settings) the case may change."""
    return Path(shutil.copytree(_finished_scene, tmp_path / "scene"))
