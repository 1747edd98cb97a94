"""The shape of the code (issue 18): thin task scripts that import only sarhub, no import-path edits, a Model-Hub
module that loads no model code, imports down the layers, and a test file mirroring every module."""
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


# The layers of docs/ARCHITECTURE.md, lowest first: a module may import its own layer and the ones below (the
# longest matching prefix names a module's layer). `if __name__ == "__main__":` blocks are entry points, not
# library imports, and are not counted.
LAYERS = [
    ("sarhub.errors", "sarhub.config", "sarhub.paper", "sarhub.drae", "sarhub.losses", "sarhub.schedules",
     "sarhub.optim", "sarhub.distributed", "sarhub.metrics"),
    ("sarhub.checkpoints", "sarhub.rundir", "sarhub.preprocess", "sarhub.results", "sarhub.cli"),
    ("sarhub.data",),
    ("sarhub.hub", "sarhub.authors_checkpoints"),
    ("sarhub", "sarhub.backbones"),
    ("sarhub.models", "sarhub.ssl", "sarhub.fusion", "sarhub.explain"),
    ("sarhub.callbacks", "sarhub.engine"),
    ("sarhub.classification",),
    ("sarhub.pipelines",),
    ("sarhub.hub_tools", "sarhub.bench"),
]


def layer(module: str) -> int:
    matches = [(len(prefix), rank) for rank, group in enumerate(LAYERS) for prefix in group
               if module == prefix or module.startswith(prefix + ".")]
    assert matches, f"{module} is in no layer of LAYERS"
    return max(matches)[1]


def sarhub_imports() -> dict[str, set[str]]:
    """Module -> the sarhub modules it imports anywhere in its body (function-local imports included)."""
    graph = {}
    for path in (REPO / "sarhub").rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        tree = ast.parse(path.read_text())
        main_blocks = {id(n) for stmt in tree.body if isinstance(stmt, ast.If) and "__main__" in ast.unparse(stmt.test)
                       for n in ast.walk(stmt)}
        deps = set()
        for node in ast.walk(tree):
            if id(node) in main_blocks:
                continue
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sarhub":
                deps |= {f"sarhub.{a.name}" for a in node.names} if node.module == "sarhub" else {node.module}
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name.split(".")[0] == "sarhub"}
        graph[name] = deps - {name}
    return graph


def test_imports_flow_down_the_layers():
    upward = [f"{m} -> {d}" for m, deps in sarhub_imports().items() for d in deps if layer(d) > layer(m)]
    assert upward == []


def test_import_graph_has_no_cycle():
    graph = sarhub_imports()
    modules = set(graph)
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        if module in path:
            raise AssertionError("import cycle: " + " -> ".join(path[path.index(module):] + (module,)))
        if module in done or module not in modules:
            return
        for dep in sorted(graph[module]):
            visit(dep, path + (module,))
        done.add(module)

    for module in sorted(modules):
        visit(module, ())


def test_no_function_local_sarhub_imports():
    """An import inside a function hides a dependency (or dodges a cycle); only the package's lazy entry points
    (PEP 562 in sarhub/__init__.py) and `__main__` blocks import late."""
    late = []
    for path in (REPO / "sarhub").rglob("*.py"):
        if path == REPO / "sarhub" / "__init__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                late += [f"{path.relative_to(REPO)}:{n.lineno}" for n in ast.walk(node)
                         if isinstance(n, ast.ImportFrom) and (n.module or "").split(".")[0] == "sarhub"]
    assert late == []


def test_the_documented_map_is_the_code():
    """docs/ARCHITECTURE.md names every layer's modules, and its table of option groups lists each group's options."""
    import importlib
    import re

    from sarhub.config import leaves

    doc = (REPO / "docs" / "ARCHITECTURE.md").read_text()
    block = doc.split("```")[1]
    for group in LAYERS:
        for module in group:
            short = module.split(".", 1)[-1] if module != "sarhub" else "backbones"
            assert re.search(rf"\b{re.escape(short.split('.')[-1])}\b", block), f"{module} missing from the layers"
    homes = {"RunOptions": "sarhub.config", "TestOptions": "sarhub.config", "DRAEConfig": "sarhub.drae",
             "InputOptions": "sarhub.preprocess", "LossOptions": "sarhub.losses", "TargetData": "sarhub.data.targets",
             "ModelOptions": "sarhub.backbones", "SceneData": "sarhub.data.scene_sets", "OptimOptions": "sarhub.config"}
    rows = re.findall(r"^\| `(\w+)`[^|]*\| `([\w/.]+)` \| (.+) \|$", doc, flags=re.M)
    assert len(rows) == len(homes)
    for row in rows:
        name, _, listed = row
        cls = getattr(importlib.import_module(homes[name]), name)
        documented = {w.strip() for w in re.split(r",|\(.*?\)", listed.replace("DRAE", "")) if w.strip()}
        assert documented <= set(leaves(cls)) | {"img_size"}, (name, documented - set(leaves(cls)))


def test_every_module_with_logic_has_its_mirrored_test_file():
    """The tests mirror the package: sarhub/<sub>/<name>.py is tested in tests/<sub>/test_<name>.py."""
    missing = []
    for module in sorted((REPO / "sarhub").rglob("*.py")):
        if module.name == "__init__.py":
            continue
        relative = module.relative_to(REPO / "sarhub")
        expected = REPO / "tests" / relative.parent / f"test_{module.name}"
        if not expected.is_file():
            missing.append(f"{relative} -> {expected.relative_to(REPO)}")
    assert missing == [], "modules without their mirrored test file:\n" + "\n".join(missing)
