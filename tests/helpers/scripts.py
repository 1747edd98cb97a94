"""Running a task script in a subprocess the way a user does, with the simulator cache kept inside tmp_path."""
from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# a scene-classification run of seconds: 3 simulated classes × 12 chips of 32 px
SCENE_TINY = ["--sim-classes", "3", "--sim-per-class", "12", "--img-size", "32", "--batch-size", "8", "--workers",
              "0", "--model", "resnet18"]


def script_env(tmp_path: Path) -> dict:
    return {**os.environ, "SARHUB_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}


def kill_when(task: str, args: list[str], tmp_path: Path, marker: str, timeout: float = 300) -> int:
    """Start a task script, read its output until a line contains `marker`, then SIGKILL it from outside (a crash:
    nothing in the script gets to clean up). Returns the exit status (-9)."""
    proc = subprocess.Popen(args, cwd=REPO / task, env=script_env(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    seen = []
    try:
        for line in proc.stdout:  # type: ignore[union-attr]
            seen.append(line)
            if marker in line:
                proc.send_signal(signal.SIGKILL)
                break
        else:
            raise AssertionError(f"{args} ended before printing {marker!r}:\n{''.join(seen)[-3000:]}")
        return proc.wait(timeout)
    finally:
        proc.kill()
        proc.stdout.close()  # type: ignore[union-attr]


def run_script(task: str, args: list[str], tmp_path: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = script_env(tmp_path)
    proc = subprocess.run(args, cwd=REPO / task, env=env, capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc
