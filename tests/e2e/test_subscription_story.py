"""Acceptance: a subscription's story on the real Temporal dev server, through the HTTP API.

A customer on a test clock subscribes to a plan with a 14-day trial and a graduated usage
charge; usage arrives across periods; the customer upgrades, then downgrades; the clock is
advanced over four periods. Every invoice total and fee, and the subscription's state at
every step, are written out below from the pricing rules.

Plans (all monthly, calendar billing, customer in UTC):
- starter: $10.00 in arrears, 14-day trial; api calls graduated 0-100 @ $0.10, 101+ @ $0.05
- pro:     $30.00 in advance;  api calls graduated 0-1000 @ $0.03, 1001+ @ $0.01
- lite:    $5.00 in arrears;   api calls graduated as starter
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from bxb.models import Invoice
from bxb.workflows.subscription import workflow_id
from tests.support.auth import Tenant
from tests.support.histories import record_histories

pytestmark = pytest.mark.slow

STARTER_RANGES = [
    {"from_value": 0, "to_value": 100, "per_unit_amount": "0.10", "flat_amount": "0"},
    {"from_value": 101, "to_value": None, "per_unit_amount": "0.05", "flat_amount": "0"},
]
PRO_RANGES = [
    {"from_value": 0, "to_value": 1000, "per_unit_amount": "0.03", "flat_amount": "0"},
    {"from_value": 1001, "to_value": None, "per_unit_amount": "0.01", "flat_amount": "0"},
]


class Story:
    def __init__(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        self.client = client
        self.headers = tenant.headers
        self.clock_id = ""
        self.events = 0

    async def call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        response = await self.client.request(method, path, json=body, headers=self.headers)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def plan(self, code: str, amount: int, metric_id: str, ranges: Any, **extra: Any) -> None:
        charge = {
            "billable_metric_id": metric_id,
            "charge_model": "graduated",
            "properties": {"graduated_ranges": ranges},
        }
        body = {
            "name": code.title(),
            "code": code,
            "interval": "monthly",
            "amount_cents": amount,
            "amount_currency": "USD",
            "charges": [charge],
            **extra,
        }
        await self.call("POST", "/api/v1/plans", {"plan": body})

    async def usage(self, when: str | None, calls: int) -> dict[str, Any]:
        """Send usage; without `when`, the event takes the test clock's time."""
        self.events += 1
        event: dict[str, Any] = {
            "transaction_id": f"tx_{self.events}",
            "external_subscription_id": "sub_story",
            "code": "api_calls",
            "properties": {"calls": calls},
        }
        if when is not None:
            event["timestamp"] = int(datetime.fromisoformat(when).timestamp())
        stored: dict[str, Any] = (await self.call("POST", "/api/v1/events", {"event": event}))[
            "event"
        ]
        return stored

    async def advance(self, to: str) -> None:
        clock = await self.call(
            "POST",
            f"/api/v1/test_clocks/{self.clock_id}/advance",
            {"test_clock": {"frozen_time": to}},
        )
        assert clock["test_clock"]["frozen_time"] == to
        assert clock["test_clock"]["status"] == "ready"

    async def subscription(self) -> dict[str, Any]:
        sub: dict[str, Any] = (await self.call("GET", "/api/v1/subscriptions/sub_story"))[
            "subscription"
        ]
        return sub

    async def subscribe(self, plan_code: str) -> dict[str, Any]:
        body = {
            "subscription": {
                "external_customer_id": "cus_story",
                "plan_code": plan_code,
                "external_id": "sub_story",
                "billing_time": "calendar",
            }
        }
        sub: dict[str, Any] = (await self.call("POST", "/api/v1/subscriptions", body))[
            "subscription"
        ]
        return sub


async def _invoices(sessions: async_sessionmaker[AsyncSession]) -> list[Invoice]:
    async with sessions() as session:
        return list(await session.scalars(select(Invoice).order_by(Invoice.sequential_id)))


def _fees(invoice: Invoice) -> list[tuple[str, int, str]]:
    return [
        (fee.description, fee.amount_cents, f"{fee.units.normalize():f}") for fee in invoice.fees
    ]


async def test_trial_usage_upgrade_downgrade_over_four_periods(
    temporal_client: httpx.AsyncClient,
    worker: str,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    temporal_env: WorkflowEnvironment,
) -> None:
    story = Story(temporal_client, tenant_a)
    clock = await story.call(
        "POST",
        "/api/v1/test_clocks",
        {"test_clock": {"name": "story", "frozen_time": "2026-01-01T00:00:00Z"}},
    )
    story.clock_id = clock["test_clock"]["lago_id"]
    await story.call(
        "POST",
        "/api/v1/customers",
        {
            "customer": {
                "external_id": "cus_story",
                "name": "Story",
                "test_clock_id": story.clock_id,
            }
        },
    )
    metric = await story.call(
        "POST",
        "/api/v1/billable_metrics",
        {
            "billable_metric": {
                "name": "API calls",
                "code": "api_calls",
                "aggregation_type": "sum_agg",
                "field_name": "calls",
            }
        },
    )
    metric_id = metric["billable_metric"]["lago_id"]
    await story.plan("starter", 1000, metric_id, STARTER_RANGES, trial_period=14)
    await story.plan("pro", 3000, metric_id, PRO_RANGES, pay_in_advance=True)
    await story.plan("lite", 500, metric_id, STARTER_RANGES)

    # 1. Subscribe on Jan 1: active at once, in trial until Jan 15.
    sub = await story.subscribe("starter")
    assert (sub["status"], sub["plan_code"], sub["trial_ended_at"]) == ("active", "starter", None)
    assert sub["started_at"] == "2026-01-01T00:00:00Z"
    assert sub["current_billing_period_started_at"] == "2026-01-01T00:00:00Z"
    assert sub["current_billing_period_ending_at"] == "2026-02-01T00:00:00Z"
    assert await _invoices(sessions) == []  # in arrears: nothing billed at the start
    # The same create again is the same subscription, not a second one.
    assert (await story.subscribe("starter"))["lago_id"] == sub["lago_id"]

    # 2. January usage: 150 calls during the trial (usage is billed in trials) + 50 after.
    await story.usage("2026-01-10T12:00:00+00:00", 150)
    await story.usage("2026-01-20T12:00:00+00:00", 50)
    await story.advance("2026-02-01T00:00:00Z")
    sub = await story.subscription()
    assert sub["trial_ended_at"] == "2026-01-15T00:00:00Z"
    assert sub["current_billing_period_started_at"] == "2026-02-01T00:00:00Z"
    [january] = await _invoices(sessions)
    # Base: trial ends Jan 15, which is billed: Jan 15..31 = 17 of 31 days.
    #   $10.00 × 17/31 = 548.39 cents → 548.
    # Usage: 200 calls = 100 × $0.10 + 100 × $0.05 = $15.00 → 1500.
    assert _fees(january) == [("Starter", 548, "1"), ("API calls", 1500, "200")]
    assert (january.kind, january.total_amount_cents) == ("period_end", 2048)
    assert (january.status, january.payment_status) == ("finalized", "pending")

    # 3. February: 80 calls, then an upgrade to pro on Feb 10 at noon (applies at once).
    await story.usage("2026-02-05T09:00:00+00:00", 80)
    await story.advance("2026-02-10T12:00:00Z")
    upgraded = await story.subscribe("pro")
    assert (upgraded["status"], upgraded["plan_code"]) == ("active", "pro")
    assert upgraded["previous_plan_code"] == "starter"
    assert upgraded["lago_id"] != sub["lago_id"]  # a new plan segment, as in Lago
    assert upgraded["current_billing_period_started_at"] == "2026-02-10T12:00:00Z"
    assert upgraded["current_billing_period_ending_at"] == "2026-03-01T00:00:00Z"
    _, change = await _invoices(sessions)
    # Starter for Feb 1..9 (the change day belongs to pro): $10 × 9/28 = 321.43 → 321.
    # Starter usage until the change: 80 × $0.10 = $8.00 → 800.
    # Pro in advance for Feb 10..28: $30 × 19/28 = 2035.71 → 2036.
    assert _fees(change) == [("Starter", 321, "1"), ("Pro", 2036, "1"), ("API calls", 800, "80")]
    assert (change.kind, change.total_amount_cents) == ("plan_change", 3157)

    # 4. Pro usage: 1200 calls. Current usage shows them priced with pro's charge.
    await story.usage("2026-02-15T00:00:00+00:00", 1200)
    usage = (
        await story.call(
            "GET", "/api/v1/customers/cus_story/current_usage?external_subscription_id=sub_story"
        )
    )["customer_usage"]
    assert usage["from_datetime"] == "2026-02-10T12:00:00Z"
    assert usage["amount_cents"] == 3200  # 1000 × $0.03 + 200 × $0.01
    assert [(c["units"], c["amount_cents"]) for c in usage["charges_usage"]] == [("1200", 3200)]
    # March 1 closes pro's February.
    await story.advance("2026-03-01T00:00:00Z")
    *_, february = await _invoices(sessions)
    # Usage: 1000 × $0.03 + 200 × $0.01 = $32.00 → 3200; March in advance: $30 → 3000.
    assert _fees(february) == [("Pro", 3000, "1"), ("API calls", 3200, "1200")]
    assert february.total_amount_cents == 6200

    # 5. Mar 5: downgrade to lite, which waits for the end of the period.
    await story.advance("2026-03-05T00:00:00Z")
    pending = await story.subscribe("lite")
    assert (pending["status"], pending["plan_code"]) == ("active", "pro")
    assert pending["next_plan_code"] == "lite"
    assert pending["downgrade_plan_date"] == "2026-04-01"
    pending_list = await story.call("GET", "/api/v1/subscriptions?status[]=pending")
    assert [s["plan_code"] for s in pending_list["subscriptions"]] == ["lite"]
    await story.usage("2026-03-20T00:00:00+00:00", 500)

    # 6. April 1: pro's March closes, lite starts.
    await story.advance("2026-04-01T00:00:00Z")
    sub = await story.subscription()
    assert (sub["status"], sub["plan_code"], sub["previous_plan_code"]) == ("active", "lite", "pro")
    assert sub["next_plan_code"] is None
    assert sub["current_billing_period_started_at"] == "2026-04-01T00:00:00Z"
    *_, march = await _invoices(sessions)
    # Pro was prepaid for March; its usage: 500 × $0.03 = $15.00 → 1500. Lite is in arrears.
    assert _fees(march) == [("API calls", 1500, "500")]
    assert march.total_amount_cents == 1500

    # 7. April on lite: 30 calls, sent without a timestamp: they happen "now" on the
    # test clock (Apr 1), not at the wall clock's time. May 1 closes April:
    # $5.00 + 30 × $0.10 = $8.00.
    assert (await story.usage(None, 30))["timestamp"] == "2026-04-01T00:00:00Z"
    await story.advance("2026-05-01T00:00:00Z")
    *_, april = await _invoices(sessions)
    assert _fees(april) == [("Lite", 500, "1"), ("API calls", 300, "30")]
    assert april.total_amount_cents == 800

    invoices = await _invoices(sessions)
    assert [i.total_amount_cents for i in invoices] == [2048, 3157, 6200, 1500, 800]
    assert [i.sequential_id for i in invoices] == [1, 2, 3, 4, 5]
    terminated = await story.call("GET", "/api/v1/subscriptions?status[]=terminated")
    assert sorted(s["plan_code"] for s in terminated["subscriptions"]) == ["pro", "starter"]

    if os.environ.get("BXB_RECORD_HISTORY"):  # refresh the replay test's recorded histories
        wf_id = workflow_id(tenant_a.organization_id, "sub_story")
        await record_histories(temporal_env.client, wf_id, "subscription_story")
