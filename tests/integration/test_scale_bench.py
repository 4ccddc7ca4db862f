"""A tiny run of bench/scale.py (the full one holds 100,000 subscriptions; bench/README.md).

The script starts PostgreSQL, the Temporal dev server, `bxb api` and `bxb worker` as
processes of their own, creates customers and subscriptions through the REST API, holds
them idle, advances their test clock through one billing cycle, and samples each
process's memory every second.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.bench_runs import run_bench

N = 20

pytestmark = pytest.mark.slow


def test_a_tiny_run_bills_every_subscription_once_and_samples_memory(tmp_path: Path) -> None:
    figures, stored = run_bench(
        "scale",
        *("--subscriptions", str(N), "--concurrency", "4", "--idle-seconds", "2"),
        *("--max-cached-workflows", "5", "--results-dir", str(tmp_path)),
        results_dir=tmp_path,
    )
    assert "cut_short" not in stored
    assert stored["phases"] == figures["phases"]
    assert not Path(stored["data_dir"]).exists()  # the run cleans up after itself

    phases = figures["phases"]
    create = phases["create"]
    for kind in ("customers", "subscriptions"):
        assert create[kind]["done"] == N
        assert create[kind]["errors"] == 0, create[kind]["first_errors"]
        assert create[kind]["p50_ms"] <= create[kind]["p99_ms"]
    assert len(create["worker_rss_mb_by_subscriptions"]) == 10
    assert phases["idle"]["active_subscriptions"] == N

    cycle = phases["cycle"]
    assert cycle["advance_status"] == 200
    assert (cycle["invoices"], cycle["duplicates"], cycle["errors"]) == (N, 0, 0)
    assert cycle["time_to_last_invoice_s"] is not None
    assert cycle["invoices_by_second"][-1][1] == N

    # Every phase has each process's memory; the worker's peak is reported with its cache.
    for name in ("start", "create", "idle", "cycle"):
        memory = phases[name]["memory"]
        assert set(memory) == {"api", "worker", "temporal", "postgres", "postgres_pss"}
        assert all(m["peak_mb"] > 0 for m in memory.values())
    assert figures["worker_memory"]["max_cached_workflows"] == 5
    assert figures["worker_memory"]["peak_mb"] > 0
    assert stored["timeline"]
