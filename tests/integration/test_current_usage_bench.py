"""A tiny run of bench/current_usage.py (the full one seeds 1,000,000 events; bench/README.md).

The script serves the API, the worker and Temporal as `bxb up` does, seeds one
subscription's events through the store's batch insert (the rollup trigger included),
and checks every answer's units and amounts against the ones it computed while seeding.
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_a_tiny_run_answers_exact_usage(tmp_path: Path) -> None:
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "current_usage.py"),
            *("--events", "5000", "--requests", "3", "--warmup", "1"),
            *("--results-dir", str(tmp_path), "--data-parent", str(tmp_path)),
        ],
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    [written] = tmp_path.glob("current_usage-*.json")
    assert json.loads(written.read_text()) == figures

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
