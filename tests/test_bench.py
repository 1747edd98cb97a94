"""The transfer benchmark (issue 28) on the simulator: the three outputs with the right rows and columns, resuming a
killed suite, a failing cell among finished ones, a validation split that never reads a test file, and the same
rows with two jobs as with one (the statistics: tests/metrics/test_bootstrap.py)."""
from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
import torch

from sarhub import bench
from sarhub.cli import parse_config

METRICS = ("top1", "macro_f1", "acc_1shot", "acc_5shot")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    path = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SARHUB_CACHE", str(path))
        yield path


@pytest.fixture(scope="module")
def smoke(cache, tmp_path_factory) -> Path:
    """The embedded default: two initialisations × two tasks × two seeds."""
    out = tmp_path_factory.mktemp("smoke") / "bench"
    bench.main(["--output", str(out), "--threads", "1"])
    return out


def rows_of(out: Path) -> list[dict]:
    with open(out / "results.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_default_suite_writes_the_three_outputs(smoke):
    rows = rows_of(smoke)
    assert {(r["backbone"], r["task"], r["seed"]) for r in rows} == {
        (b, t, s) for b in ("scratch", "TSX-SLC") for t in ("mstar-30", "fewshot") for s in ("0", "1")}
    assert all(r["status"] == "ok" for r in rows)
    assert {"backbone", "task", "seed", "status", "wall_s", "epochs", "checkpoint", *METRICS} <= set(rows[0])
    text = (smoke / "results.md").read_text()
    assert "| scratch | " in text and "| TSX-SLC | " in text and "Paired differences against scratch" in text
    assert "| mstar-30 (top1) | TSX-SLC |" in text and "2 seeds |" in text
    assert (smoke / "results.png").read_bytes()[:4] == b"\x89PNG"


def test_a_killed_suite_rerun_trains_only_the_missing_cells(smoke, tmp_path, monkeypatch):
    out = Path(shutil.copytree(smoke, tmp_path / "bench"))
    for cell in ("scratch/mstar-30/seed1", "TSX-SLC/fewshot/seed0"):
        (out / "cells" / cell / "cell.json").unlink()  # killed before these two finished
    ran = []
    for name, runner in list(bench.RUNNERS.items()):
        monkeypatch.setitem(bench.RUNNERS, name, lambda cell, folder, runner=runner: ran.append(
            (cell.backbone.label, cell.task, cell.seed)) or runner(cell, folder))
    bench.main(["--output", str(out), "--threads", "1"])
    assert sorted(ran) == [("TSX-SLC", "fewshot", 0), ("scratch", "mstar-30", 1)]
    same = [k for k in rows_of(smoke)[1] if k not in ("wall_s", "checkpoint")]
    assert [{k: r[k] for k in same} for r in rows_of(out)] == [{k: r[k] for k in same} for r in rows_of(smoke)]


def test_report_writes_the_finished_cells_and_runs_none(smoke, tmp_path, monkeypatch):
    out = Path(shutil.copytree(smoke, tmp_path / "bench"))
    (out / "cells" / "TSX-SLC" / "fewshot" / "seed1" / "cell.json").unlink()
    for name in bench.RUNNERS:
        monkeypatch.setitem(bench.RUNNERS, name, lambda cell, folder: pytest.fail("--report trained a cell"))
    rows = bench.run(parse_config(bench.BenchConfig, ["--output", str(out), "--report", "--backbones", "scratch",
                                                      "TSX-SLC=resnet18-tsxslc", "--threads", "1"]))
    assert [(r["backbone"], r["task"], r["seed"]) for r in rows if r["status"] != "ok"] == [("TSX-SLC", "fewshot", 1)]
    text = (out / "results.md").read_text()
    assert "## Cells not run yet" in text and "TSX-SLC / fewshot / seed 1" in text and "Cells that failed" not in text
    assert "| fewshot (acc_1shot) | TSX-SLC |" in text and "1 seeds |" in text  # the pair finished in both


def test_a_failing_cell_keeps_its_error_and_the_others_finish(cache, tmp_path):
    out = tmp_path / "bench"
    rows = bench.run(parse_config(bench.BenchConfig, [
        "--backbones", "scratch", f"broken={tmp_path / 'missing.safetensors'}", "--tasks", "fewshot", "--seeds", "1",
        "--output", str(out), "--threads", "1"]))
    status = {r["backbone"]: r["status"] for r in rows}
    assert status["scratch"] == "ok" and "missing.safetensors" in status["broken"] and "not found" in status["broken"]
    assert "## Cells that failed" in (out / "results.md").read_text()


def test_dry_run_lists_the_cells_with_a_cost(capsys, tmp_path):
    bench.main(["--dry-run", "--output", str(tmp_path / "b")])
    text = capsys.readouterr().out
    assert text.count("| scratch |") == 4 and "8 cells" in text and not (tmp_path / "b").exists()


def test_dry_run_of_a_resumed_output_counts_only_the_cells_left(smoke, tmp_path, capsys):
    out = Path(shutil.copytree(smoke, tmp_path / "bench"))
    (out / "cells" / "TSX-SLC" / "fewshot" / "seed1" / "cell.json").unlink()
    bench.main(["--dry-run", "--output", str(out), "--backbones", "scratch", "TSX-SLC=resnet18-tsxslc"])
    text = capsys.readouterr().out
    row = next(line for line in text.splitlines() if line.startswith("| TSX-SLC | fewshot | 1 |"))
    assert "| to run |" in row
    assert text.count("| finished |") == 7 and "8 cells, 7 finished, 1 to run" in text


def test_the_validation_split_never_reads_a_test_file(cache, tmp_path):
    for test_folder in cache.rglob("test"):  # the simulated MSTAR set without its test chips
        if test_folder.is_dir():
            shutil.rmtree(test_folder)
    rows = bench.run(parse_config(bench.BenchConfig, ["--backbones", "scratch", "--split", "val", "--seeds", "1",
                                                      "--output", str(tmp_path / "val"), "--threads", "1"]))
    assert [r["status"] for r in rows] == ["ok", "ok"] and all(r["split"] == "val" for r in rows)


def test_two_jobs_give_the_rows_of_one(cache, tmp_path):
    common = ["--tasks", "mstar-30", "--seeds", "1", "--threads", "1"]
    one = bench.run(parse_config(bench.BenchConfig, [*common, "--output", str(tmp_path / "one")]))
    two = bench.run(parse_config(bench.BenchConfig, [*common, "--output", str(tmp_path / "two"), "--jobs", "2"]))
    keep = ("backbone", "task", "seed", "status", *METRICS)
    assert [{k: r.get(k) for k in keep} for r in one] == [{k: r.get(k) for k in keep} for r in two]


def test_specs_become_architectures_and_weights(tmp_path):
    parse = bench.Backbone.parse
    assert parse("scratch", "resnet18") == bench.Backbone("scratch", "resnet18", None)
    assert parse("resnet18-tsxslc", "resnet50").arch == "resnet18"  # a Model-Hub name knows its network
    assert parse("R50=resnet50@x.pth", "resnet18") == bench.Backbone("R50", "resnet50", "x.pth")
    assert parse("resnet18.a1_in1k", "resnet50") == bench.Backbone("resnet18.a1_in1k", "resnet18",
                                                                   "timm:resnet18.a1_in1k")
    with pytest.raises(Exception, match="share a label"):
        parse_config(bench.BenchConfig, ["--backbones", "a=scratch", "a=resnet18-tsxslc"])
    assert json.loads(json.dumps(bench.TASKS["ssdd-det"].protocols["cpu"]))["per_image_norm"] is True


def test_frozen_probes_feed_each_backbone_at_its_pre_training_side(tmp_path):
    """A frozen probe does not adapt to a scale its features never saw: the hub contract's side, a run's saved
    img_size, a safetensors file's metadata; the protocol's side for scratch and for fine-tuning tasks."""
    from safetensors.torch import save_file

    from sarhub.checkpoints import save_checkpoint
    from sarhub.hub import InputContract, save_backbone
    from sarhub.preprocess import InputOptions

    run = tmp_path / "run.pth"
    save_checkpoint({"model": {"w": torch.zeros(1)}, "args": {"img_size": 128}}, run)
    tensors, exported = tmp_path / "b.safetensors", tmp_path / "byol.safetensors"
    save_file({"w": torch.zeros(1)}, str(tensors), metadata={"img_size": "96"})
    contract = InputContract(in_chans=1, options=InputOptions(img_size=112, per_image_norm=True))
    save_backbone({"w": torch.zeros(1)}, exported, {"name": "byol", "input": contract.as_dict()})
    assert bench.native_size("resnet18-tsxslc") == 64 and bench.native_size(str(run)) == 128
    assert bench.native_size(str(tensors)) == 96 and bench.native_size(str(exported)) == 112
    assert bench.native_size(None) is None
    mstar, tsx = tmp_path / "mstar", tmp_path / "tsx"
    mstar.mkdir(), tsx.mkdir()
    cfg = parse_config(bench.BenchConfig, ["--tier", "cpu", "--backbones", "scratch", f"R={run}",
                                           "--tasks", "fewshot", "mstar-10", "--mstar-root", str(mstar),
                                           "--tsx-root", str(tsx), "--output", str(tmp_path / "b"), "--seeds", "1"])
    sizes = {(c.backbone.label, c.task): c.settings.get("img_size") for c in bench.cells_of(cfg)}
    assert sizes == {("scratch", "fewshot"): 64, ("R", "fewshot"): 128, ("scratch", "mstar-10"): None,
                     ("R", "mstar-10"): None}  # fine-tuning keeps its recipe's side (mstar_fast: 64) for every one
    tsx = parse_config(bench.BenchConfig, ["--tier", "cpu", "--backbones", "scratch", "--tasks", "tsx-probe",
                                           "--tsx-root", str(tsx), "--output", str(tmp_path / "c")])
    assert "img_size" not in bench.cells_of(tsx)[0].settings  # scratch keeps the probe recipe's side
