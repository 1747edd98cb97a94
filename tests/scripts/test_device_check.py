"""The GPU check script runs end to end on the CPU in --smoke mode and appends its tables to the results file."""
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_device_check_smoke_appends_every_table(tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n")
    env = {**os.environ, "RESULTS": str(results), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(["bash", str(REPO / "benchmarks" / "device_check.sh"), "--smoke"], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    text = results.read_text()
    assert text.startswith("# Benchmark results\n") and "## Device check on CPU smoke run" in text
    for table in ("| Reinhard–Devlin |", "| resnet18 | ", "bf16 + channels_last img/s", "detection, 1 × 128²"):
        assert table in text


def test_device_check_rejects_unknown_options():
    done = subprocess.run(["bash", str(REPO / "benchmarks" / "device_check.sh"), "--fast"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and "unknown option --fast" in done.stderr
