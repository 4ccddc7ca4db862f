"""A tiny run of bench/ingest.py: the floor, the ceiling and the API in one run.

The full run (bench/README.md) measures 8 s per scenario; this one a second, and checks
that every figure is produced and that every acknowledged event is stored, never timings.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.bench_runs import run_bench

pytestmark = pytest.mark.slow


def test_a_tiny_run_reports_batches_against_the_floor(tmp_path: Path) -> None:
    figures, stored = run_bench(
        "ingest",
        *("--only", "postgres-floor,bare,postgres"),
        *("--duration", "1", "--warmup", "0.2", "--results-dir", str(tmp_path)),
        results_dir=tmp_path,
    )
    assert stored == figures
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
