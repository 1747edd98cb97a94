"""The shape of the code (issue 18): thin task scripts that import only sarhub, no import-path edits, and a
Model-Hub module that loads no model code."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TASKS = ("SAR_scene_classification", "target_recognition", "object_detection", "semantic_segmentation",
         "knowledge_point", "self_supervised", "sar_optical")
STDLIB_OK = {"__future__", "argparse", "pathlib", "sys"}


def scripts():
    return sorted(p for task in TASKS for p in (REPO / task).glob("*.py"))


def test_task_scripts_are_thin_and_import_only_sarhub():
    for path in scripts():
        text = path.read_text()
        assert len(text.splitlines()) <= 100, path
        for node in ast.walk(ast.parse(text)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                top = (name or "").split(".")[0]
                assert top == "sarhub" or top in STDLIB_OK, f"{path.relative_to(REPO)} imports {name}"


def test_no_import_path_edits():
    edit = "sys.path." + "insert"  # spelled apart so this file does not match itself
    for path in REPO.rglob("*.py"):
        if ".git" in path.parts:
            continue
        assert edit not in path.read_text(), path


def test_hub_loads_no_model_code():
    code = ("import sys, sarhub.hub; bad = [m for m in sys.modules if m.split('.')[0] == 'timm' or m in "
            "('sarhub.backbones', 'sarhub.models', 'sarhub.engine', 'sarhub.classification')]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=REPO,
                         env={"PYTHONPATH": str(REPO), "PATH": ""}).stdout.strip()
    assert out == "[]"
