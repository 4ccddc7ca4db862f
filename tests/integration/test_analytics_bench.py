"""A tiny run of bench/analytics.py (the full one seeds 1,000,000 invoices; bench/README.md).

The script seeds its ledger through the real tables, serves the API with uvicorn as
`bxb api` does, and reports every analytics and dashboard endpoint, measured or missing,
next to the floor of the same run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.bench_runs import run_bench

pytestmark = pytest.mark.slow


def test_a_tiny_run_seeds_the_ledger_and_reports_every_endpoint(tmp_path: Path) -> None:
    figures, stored = run_bench(
        "analytics",
        *("--customers", "41", "--invoices", "400", "--requests", "3", "--warmup", "1"),
        *("--results-dir", str(tmp_path), "--no-explain"),
        results_dir=tmp_path,
    )
    assert stored == figures

    rows = figures["seed"]["rows"]
    # 41 customers (an odd number: one has no pair to balance) share exactly 400 invoices,
    # two fees each; every finalized invoice has a payment, failed ones two.
    assert (rows["customers"], rows["subscriptions"], rows["invoices"]) == (41, 41, 400)
    assert rows["fees"] == 800
    assert rows["payments"] >= 400 - figures["seed"]["voided_invoices"]

    results = figures["results"]
    names = {
        "floor",
        "analytics/gross_revenue",
        "analytics/invoice_collection",
        "analytics/invoiced_usage",
        "analytics/mrr",
        "analytics/overdue_balance",
        "analytics/usage",
        "dashboard/revenue",
        "dashboard/revenue/daily",
        "dashboard/revenue/by_plan",
        "dashboard/top_customers",
        "dashboard/top_customers (30-day range)",
        "dashboard/overdue",
        "dashboard/mrr",
        "dashboard/mrr/movements",
        "dashboard/churn",
        "dashboard/retention",
        "dashboard/arpa",
        "dashboard/trials",
        "dashboard/overview",
    }
    assert set(results) == names
    assert results["floor"]["statuses"] == {"200": 3}
    assert 0 < results["floor"]["p50_ms"] <= results["floor"]["p99_ms"]
    for name, result in results.items():
        if result.get("missing"):
            assert name in figures["missing"]
            continue
        # Every filter the bench asks with is valid: nothing but 200s.
        assert result["statuses"] == {"200": 3}, (name, result.get("first_error"))
