"""Billing cycles survive a killed worker, restarted Temporal and PostgreSQL, and failing
Stripe and webhook receivers: every invoice once, every charge once, every webhook
delivered, numbering gapless, no workflow stuck, the API answering throughout.

The small run (20 subscriptions, one fault of each kind) is part of `make test`; the full
run (1,000 subscriptions, three worker kills, every Stripe fault) is `make test-chaos`
(marker `chaos`) and records its figures in bench/results/chaos-<timestamp>.json.
CHAOS_SUBSCRIPTIONS changes its size.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.chaos.scenario import ChaosPlan, Phase, api_violations, run_chaos
from tests.chaos.stack import chaos_stack
from tests.support.holding_proxy import StripeFault

pytestmark = pytest.mark.slow

# A killed worker's work must be taken over within this (issue 9).
RECOVERY_TARGET_SECONDS = 15.0
RESULTS = Path(__file__).parents[2] / "bench" / "results"

E500, TIMEOUT, DROP = (
    StripeFault.ERROR_500,
    StripeFault.TIMEOUT,
    StripeFault.DROP_AFTER_CHARGE,
)

SMALL = ChaosPlan(
    subscriptions=20,
    phases=(
        Phase("worker kill, Stripe 500 and drop", worker_kills=1, stripe_faults=(E500, DROP)),
        Phase("Temporal restart, webhooks fail", temporal_restart=True, webhook_faults=True),
        Phase("PostgreSQL restart", postgres_restart=True),
    ),
    webhook_fault_seconds=3.0,
)
FULL = ChaosPlan(
    subscriptions=int(os.environ.get("CHAOS_SUBSCRIPTIONS", "1000")),
    phases=(
        Phase("three worker kills", worker_kills=3),
        # Every other creation fails, in turn: 500, time-out, charged but unanswered.
        Phase(
            "Temporal restart, Stripe faults",
            temporal_restart=True,
            stripe_faults=(E500, None, TIMEOUT, None, DROP, None) * 10,
        ),
        Phase("PostgreSQL restart, webhooks fail", postgres_restart=True, webhook_faults=True),
    ),
    webhook_fault_seconds=30.0,
)


@pytest.mark.parametrize(
    "plan",
    [pytest.param(SMALL, id="small"), pytest.param(FULL, id="full", marks=pytest.mark.chaos)],
)
async def test_billing_survives_chaos(
    plan: ChaosPlan, tmp_path: Path, localstripe_url: str
) -> None:
    async with chaos_stack(tmp_path, localstripe_url) as stack:
        results = await run_chaos(stack, plan)
    results["recovery_target_s"] = RECOVERY_TARGET_SECONDS
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS if plan is FULL else tmp_path
    out.mkdir(exist_ok=True)
    (out / f"chaos-{stamp}.json").write_text(json.dumps(results, indent=2) + "\n")
    phases: list[dict[str, Any]] = results["phases"]

    assert not results["unexpected_exits"]
    invariants = {p["phase"]: p["violations"] for p in phases if p["violations"]}
    assert not invariants, json.dumps(invariants, indent=2)
    assert not api_violations(phases), api_violations(phases)
    # Test-clock advances survive a Temporal restart (transport errors are retried).
    retried = {p["phase"]: p["advance_answers"] for p in phases if p["advance_answers"] != ["200"]}
    assert not retried, retried
    # A killed worker's work is taken over by heartbeat timeouts. Counted from the
    # replacement worker's start: its own start-up (seconds, or a minute on a starved
    # machine under coverage) is the machine's, recorded as worker_polling_s.
    recoveries = [k["after_restart_s"] for p in phases for k in p["worker_kills"]]
    assert all(r < RECOVERY_TARGET_SECONDS for r in recoveries), recoveries
