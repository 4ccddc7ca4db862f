"""Running a benchmark script of bench/ as its tiny test does: a subprocess of this Python,
the script's last stdout line parsed as its figures, and its results file read back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def run_bench(
    name: str, *args: str, results_dir: Path, timeout: float = 300, pythonpath: bool = False
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run bench/<name>.py with `args` (which must send its results to `results_dir`);
    answer the figures it printed and those of the one results file it wrote.

    `pythonpath` puts the checkout first on the path, for scripts that import sibling
    modules which import bxb themselves (worker processes)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)} if pythonpath else None
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / f"{name}.py"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    printed: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    [written] = results_dir.glob(f"{name}-*.json")
    return printed, json.loads(written.read_text())
