"""bench/exports.py at a small size: it runs, exports every row, and memory stays flat."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_small_export_bench_is_flat() -> None:
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "exports.py"),
            "--events",
            "20000",
            "--small",
            "5000",
            "--invoices",
            "2000",
            "--no-record",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    assert figures["events_20000"]["rows"] == 20000
    assert figures["events_5000"]["rows"] == 5000
    assert figures["invoices_2000"]["rows"] == 2000
    assert figures["memory_flat"] is True
