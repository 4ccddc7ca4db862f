"""A tiny run of bench/billing_cycle.py (the measured one has 1,000 subscriptions; see
bench/README.md): two worker processes share the cycle and the figures are reported.

The script starts its own PostgreSQL and Temporal dev server on free loopback ports, the
floor (bare workflows) and then the billing cycle on the same workers. Timings are not
asserted; what is: one invoice per subscription and period, no error, each process's share
of the work named by its identity, and the history figures per invoice.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.bench_runs import run_bench

SUBSCRIPTIONS = 6

pytestmark = pytest.mark.slow


def test_a_tiny_cycle_on_two_worker_processes(tmp_path: Path) -> None:
    figures, stored = run_bench(
        "billing_cycle",
        *("--subscriptions", str(SUBSCRIPTIONS), "--worker-processes", "2"),
        *("--results-dir", str(tmp_path)),
        results_dir=tmp_path,
        pythonpath=True,
    )
    assert stored == figures

    assert figures["worker_processes"] == 2
    assert figures["errors"] == 0
    # Exactly one invoice per subscription and period: no duplicate across the processes.
    assert figures["invoices"] == SUBSCRIPTIONS
    assert figures["subscription_periods"] == SUBSCRIPTIONS
    assert figures["duplicated_periods"] == 0
    assert figures["cycle_s"] > 0
    assert figures["floor_s"] > 0
    assert figures["ratio_to_floor"] > 0

    # Every close_period ran once, on one of the two processes (their own counters).
    counts = figures["cycle_process_activities"]
    assert sorted(c["identity"] for c in counts) == ["worker-0", "worker-1"]
    assert sum(c["activities"].get("close_period", 0) for c in counts) == SUBSCRIPTIONS
    floor_counts = figures["floor_process_activities"]
    assert sum(c["activities"].get("noop", 0) for c in floor_counts) == SUBSCRIPTIONS

    # The histories of the cycle: one close_period activity per invoice, each run kept (no
    # continue-as-new after a single close), tasks taken by the two named processes only.
    history = figures["cycle_history_per_invoice"]
    by_type = history["events_by_type_per_unit"]
    assert by_type["activity_task_completed"] == 1.0
    assert by_type["workflow_execution_update_completed"] == 1.0
    assert "workflow_execution_continued_as_new" not in by_type
    assert "marker_recorded" not in by_type  # new subscriptions start with their patches
    identities = {**history["workflow_tasks_by_identity"], **history["activity_tasks_by_identity"]}
    assert set(identities) <= {"worker-0", "worker-1"}
    assert sum(history["activity_tasks_by_identity"].values()) == SUBSCRIPTIONS
    floor = figures["floor_history_per_workflow"]
    assert floor["events_by_type_per_unit"]["workflow_execution_completed"] == 1.0
    assert set(figures["cycle_cpu_s"]) >= {"bench", "temporal_server", "postgres", "workers"}
    assert len(figures["load_average_before"]) == 3
