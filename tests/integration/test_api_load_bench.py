"""A tiny run of bench/api_load.py (the full one sends 1,000 requests a second; bench/README.md).

The script seeds an organization through the real tables, starts Temporal and a worker,
creates subscriptions through the API, and sends the mixed load open-loop to the bare
floor and to the API served as `bxb api` serves it. Figures only, never timings.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.bench_runs import ROOT, run_bench

pytestmark = pytest.mark.slow


def test_a_tiny_run_answers_every_kind_of_request_without_error(tmp_path: Path) -> None:
    figures, stored = run_bench(
        "api_load",
        *("--rate", "10", "--duration", "4", "--warmup", "1", "--workers", "1"),
        *("--customers", "30", "--invoices", "90", "--live", "3"),
        *("--timeout", "60", "--serial", "2", "--results-dir", str(tmp_path)),
        results_dir=tmp_path,
    )
    assert stored == figures

    rows = figures["seed"]["rows"]
    assert (rows["customers"], rows["subscriptions"], rows["invoices"]) == (30, 30, 90)
    assert figures["live"]["live_subscriptions"] == 3
    assert sum(figures["mix"].values()) == 100

    results = figures["results"]
    assert set(results) == {"bare", "api", "serial_bare", "serial_api"}
    for name in ("serial_bare", "serial_api"):  # each kind alone, one request at a time
        serial = results.pop(name)
        assert isinstance(serial.pop("mix_cpu_us_per_request"), int)  # CPU ticks are 10 ms
        assert set(serial) == set(figures["mix"]), name
        for kind, entry in serial.items():
            assert (entry["requests"], entry["errors"]) == (2, {}), (name, kind, entry)
            assert entry["p50_ms"] > 0
    for name, result in results.items():
        overall = result["overall"]
        # 10 requests a second for 4 seconds, every one answered 2xx in time.
        assert overall["sent"] == 40, name
        assert (overall["ok"], overall["errors"], overall["timeouts"]) == (40, 0, 0), result
        assert overall["unanswered"] == 0
        assert 0 < overall["p50_ms"] <= overall["p95_ms"] <= overall["p99_ms"] <= overall["max_ms"]
        assert overall["achieved_rate"] > 0
        assert sum(kind["ok"] for kind in result["kinds"].values()) == 40
        for kind, entry in result["kinds"].items():
            assert kind in figures["mix"]
            assert entry["errors"] == {}, (name, kind, entry)
            assert entry["timeouts"] == 0, (name, kind, entry)
        assert len(result["loadavg"]) == 6
    # The seeded mix reaches every kind at this size (40 draws).
    assert len(results["api"]["kinds"]) >= 8
    assert isinstance(results["api"]["p95_target_met"], bool)


def test_a_tiny_ab_run_compares_two_checkouts_kind_by_kind(tmp_path: Path) -> None:
    """bench/api_ab.py with this checkout on both sides: every kind answered, no error."""
    figures, stored = run_bench(
        "api_ab",
        *("--before", str(ROOT), "--block", "2", "--reps", "2"),
        *("--customers", "30", "--invoices", "90", "--live", "3"),
        *("--results-dir", str(tmp_path)),
        results_dir=tmp_path,
    )
    assert stored == figures
    assert figures["before"] == figures["after"]
    assert len(figures["kinds"]) == 15  # api_load's mix
    assert {"get_invoice", "current_usage", "event_batch"} <= set(figures["kinds"])
    for kind, sides in figures["kinds"].items():
        for side in ("before", "after"):
            assert sides[side]["errors"] == 0, (kind, side)
            assert sides[side]["cpu_us_per_request"] >= 0
    assert set(figures["mix_cpu_us_per_request"]) == {"before", "after"}
