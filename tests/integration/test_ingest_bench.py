"""A tiny run of bench/ingest.py: the floor, the ceiling and the API in one run.

The full run (bench/README.md) measures 8 s per scenario; this one a second, and checks
that every figure is produced and that every acknowledged event is stored, never timings.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_a_tiny_run_reports_batches_against_the_floor(tmp_path: Path) -> None:
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "ingest.py"),
            *("--only", "postgres-floor,bare,postgres"),
            *("--duration", "1", "--warmup", "0.2", "--results-dir", str(tmp_path)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    [written] = tmp_path.glob("ingest-*.json")
    assert json.loads(written.read_text()) == figures
    assert len(figures["load_average"]) == 3

    results = figures["results"]
    assert set(results) == {"postgres-floor", "bare", "postgres"}
    floor = results["postgres-floor"]["batch"]
    assert floor["errors"] == 0
    assert floor["events"] == floor["requests"] * 100 > 0
    assert floor["stored"] == floor["events"]  # the floor inserts what it counts
    for mode in ("single", "batch"):
        measured = results["postgres"][mode]
        assert measured["errors"] == 0
        assert measured["events"] > 0
        assert measured["stored"] == measured["events"]  # acknowledged means stored
        assert results["bare"][mode]["events"] > 0

    ratio = figures["batch_vs_floor"]["postgres"]
    assert ratio["batch_events_per_second"] == results["postgres"]["batch"]["events_per_second"]
    assert ratio["of_floor"] == round(
        ratio["batch_events_per_second"] / floor["events_per_second"], 3
    )
    assert ratio["of_bare"] > 0
