"""A tiny run of bench/current_usage.py (the full one seeds 1,000,000 events; bench/README.md).

The script serves the API, the worker and Temporal as `bxb up` does, seeds one
subscription's events through the store's batch insert (the rollup trigger included),
and checks every answer's units and amounts against the ones it computed while seeding.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.support.bench_runs import run_bench

pytestmark = pytest.mark.slow


def test_a_tiny_run_answers_exact_usage(tmp_path: Path) -> None:
    figures, stored = run_bench(
        "current_usage",
        *("--events", "5000", "--requests", "3", "--warmup", "1"),
        *("--results-dir", str(tmp_path), "--data-parent", str(tmp_path)),
        results_dir=tmp_path,
        timeout=400,
    )
    assert stored == figures

    seed = figures["seed"]
    assert seed["events"] == 5000
    assert seed["rollup_rows"] > 0  # the trigger rolled the batches up
    units = {code: Decimal(value) for code, value in seed["units"].items()}
    assert units["calls"] == 1500  # 3 in 10 events
    # Standard charges: $0.001 per GB, $0.0001 per call, $2 per peak GB, rounded once.
    assert figures["amount_cents"] == {
        "storage": int((units["storage"] * Decimal("0.1")).quantize(Decimal(1), "ROUND_HALF_UP")),
        "calls": 15,
        "peak": int(units["peak"] * 200),
    }
    # Every answer was checked against these by the script (it fails on a difference).
    for name in ("floor", "current_usage", "workflow_query_alone"):
        assert figures["results"][name]["requests"] == 3
