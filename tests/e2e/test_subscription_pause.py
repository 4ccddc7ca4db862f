"""Pause and resume (issue 10) on the real Temporal dev server, through the HTTP API.

A customer on a test clock (UTC, calendar billing) from Jan 1 2026. Plans are monthly at
$31.00, so January's days are worth $1.00 each:
- basic: in arrears, api calls (sum of `calls`) at $0.10 a call;
- pro:   in advance, no charges.

The days of a pause are counted as every change is: the day it starts is paused, the day
it ends is billed. Paused Jan 11 → resumed Jan 21 takes Jan 11..20 out: 10 of 31 days.
"""

from __future__ import annotations

import asyncio
import os
from datetime import datetime
from typing import Any

import httpx
import pytest
from lago_python_client.client import Client
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from bxb.models import Invoice, SubscriptionPause, Webhook
from bxb.workflows.subscription import workflow_id
from tests.support.auth import Tenant
from tests.support.histories import record_histories
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.slow

SUB = "/api/v1/subscriptions/sub_1"


class Pauses:
    def __init__(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        sessions: async_sessionmaker[AsyncSession],
    ) -> None:
        self.client, self.headers, self.sessions = client, tenant.headers, sessions
        self.clock = ""
        self.events = 0

    async def send(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return await self.client.request(method, path, json=body, headers=self.headers)

    async def ok(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        response = await self.send(method, path, body)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def refused(self, path: str, body: Any = None) -> dict[str, Any]:
        response = await self.send("POST", path, body)
        assert response.status_code == 422, response.text
        details: dict[str, Any] = response.json()["error_details"]
        return details

    async def setup(self, receiver: WebhookReceiver, plan: str, **subscription: Any) -> None:
        endpoint = {"webhook_url": receiver.url, "signature_algo": "hmac"}
        await self.ok("POST", "/api/v1/webhook_endpoints", {"webhook_endpoint": endpoint})
        frozen = "2026-01-01T00:00:00Z"
        clock = await self.ok(
            "POST", "/api/v1/test_clocks", {"test_clock": {"name": "c", "frozen_time": frozen}}
        )
        self.clock = clock["test_clock"]["lago_id"]
        customer = {"external_id": "cus_1", "currency": "USD", "test_clock_id": self.clock}
        await self.ok("POST", "/api/v1/customers", {"customer": customer})
        metric = {
            "name": "API calls",
            "code": "api_calls",
            "aggregation_type": "sum_agg",
            "field_name": "calls",
        }
        metric_id = (
            await self.ok("POST", "/api/v1/billable_metrics", {"billable_metric": metric})
        )["billable_metric"]["lago_id"]
        charge = {
            "billable_metric_id": metric_id,
            "charge_model": "standard",
            "properties": {"amount": "0.10"},
        }
        for code, advance, charges in (("basic", False, [charge]), ("pro", True, [])):
            body = {
                "name": code.title(),
                "code": code,
                "interval": "monthly",
                "amount_cents": 3100,
                "amount_currency": "USD",
                "pay_in_advance": advance,
                "charges": charges,
            }
            await self.ok("POST", "/api/v1/plans", {"plan": body})
        body = {"external_customer_id": "cus_1", "plan_code": plan, "external_id": "sub_1"}
        await self.ok("POST", "/api/v1/subscriptions", {"subscription": body | subscription})

    async def advance(self, to: str) -> None:
        body = {"test_clock": {"frozen_time": to}}
        clock = await self.ok("POST", f"/api/v1/test_clocks/{self.clock}/advance", body)
        assert clock["test_clock"]["status"] == "ready"

    async def usage(self, calls: int, subscription: str = "sub_1") -> None:
        """Calls at the clock's time."""
        self.events += 1
        event = {
            "transaction_id": f"tx_{self.events}",
            "external_subscription_id": subscription,
            "code": "api_calls",
            "properties": {"calls": calls},
        }
        await self.ok("POST", "/api/v1/events", {"event": event})

    async def subscription(self) -> dict[str, Any]:
        found: dict[str, Any] = (await self.ok("GET", SUB))["subscription"]
        return found

    async def invoices(self) -> list[Invoice]:
        async with self.sessions() as session:
            found = await session.scalars(
                select(Invoice)
                .order_by(Invoice.created_at)
                .execution_options(populate_existing=True)
            )
            return list(found)

    async def pause_rows(self) -> list[tuple[str, str | None, str | None]]:
        """subscription_pauses: (started_at, ended_at, resume_at), as ISO strings."""

        def iso(at: datetime | None) -> str | None:
            return None if at is None else at.isoformat().replace("+00:00", "Z")

        async with self.sessions() as session:
            rows = await session.scalars(
                select(SubscriptionPause)
                .order_by(SubscriptionPause.started_at)
                .execution_options(populate_existing=True)
            )
            return [(str(iso(r.started_at)), iso(r.ended_at), iso(r.resume_at)) for r in rows]

    async def webhooks(self, prefix: str = "subscription.") -> list[tuple[str, str]]:
        async with self.sessions() as session:
            rows = await session.scalars(
                select(Webhook)
                .where(Webhook.webhook_type.startswith(prefix))
                .order_by(Webhook.created_at)
            )
            return [(w.webhook_type, w.payload["subscription"]["status"]) for w in rows]


@pytest.fixture
def pauses(
    temporal_client: httpx.AsyncClient,
    worker: str,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> Pauses:
    return Pauses(temporal_client, tenant_a, sessions)


def _fees(invoice: Invoice) -> list[tuple[str, int, str]]:
    return [(f.fee_type, f.amount_cents, f"{f.units.normalize():f}") for f in invoice.fees]


async def test_ten_paused_days_and_their_usage_are_not_billed(
    pauses: Pauses, receiver: WebhookReceiver
) -> None:
    await pauses.setup(receiver, "basic")
    await pauses.advance("2026-01-05T12:00:00Z")
    await pauses.usage(100)  # billed: 100 × $0.10
    await pauses.advance("2026-01-11T09:00:00Z")
    body = {"subscription": {"pause_at": "now", "resume_at": "2026-01-21T00:00:00Z"}}
    paused = (await pauses.ok("POST", f"{SUB}/pause", body))["subscription"]
    assert paused["status"] == "paused"
    assert paused["paused_at"] == "2026-01-11T09:00:00Z"
    assert paused["resume_at"] == "2026-01-21T00:00:00Z"
    # Pausing again is refused and changes nothing (one pause, one webhook).
    again = await pauses.refused(f"{SUB}/pause", {})
    assert again == {"subscription": ["subscription_already_paused"]}

    await pauses.advance("2026-01-15T00:00:00Z")
    await pauses.usage(500)  # stored, not billed: sent during the pause
    listed = await pauses.ok("GET", "/api/v1/subscriptions?status[]=paused")
    assert [s["external_id"] for s in listed["subscriptions"]] == ["sub_1"]
    usage = await pauses.ok(
        "GET", "/api/v1/customers/cus_1/current_usage?external_subscription_id=sub_1"
    )
    assert usage["customer_usage"]["amount_cents"] == 1_000  # the 500 paused calls left out

    await pauses.advance("2026-01-25T00:00:00Z")  # the workflow's timer resumed it Jan 21
    resumed = await pauses.subscription()
    assert (resumed["status"], resumed["paused_at"], resumed["resume_at"]) == ("active", None, None)
    await pauses.usage(200)  # billed
    assert await pauses.webhooks() == [
        ("subscription.started", "active"),
        ("subscription.paused", "paused"),
        ("subscription.resumed", "active"),
    ]

    assert await pauses.pause_rows() == [
        ("2026-01-11T09:00:00Z", "2026-01-21T00:00:00Z", "2026-01-21T00:00:00Z")
    ]

    await pauses.advance("2026-02-01T00:00:00Z")
    [invoice] = await pauses.invoices()
    # Base fee: Jan 1..10 and 21..31 = 21 of 31 days × 3100 = 2100.
    # Usage: (100 + 200) calls × $0.10 = 3000; the 500 calls of Jan 15 are not billed.
    assert _fees(invoice) == [("subscription", 2_100, "1"), ("charge", 3_000, "300")]
    details = {"plan_amount_cents": 3100, "days": 21, "full_days": 31}
    assert invoice.fees[0].amount_details == details
    assert invoice.total_amount_cents == 5_100
    assert (await pauses.subscription())["status"] == "active"


async def test_in_advance_paused_days_are_credited_and_a_pause_at_period_end(
    pauses: Pauses, receiver: WebhookReceiver, tenant_a: Tenant, temporal_env: WorkflowEnvironment
) -> None:
    await pauses.setup(receiver, "pro")
    await pauses.advance("2026-01-11T00:00:00Z")
    body = {"subscription": {"resume_at": "2026-01-21T00:00:00Z"}}  # pause_at: now
    await pauses.ok("POST", f"{SUB}/pause", body)
    await pauses.advance("2026-02-01T00:00:00Z")
    start, february = await pauses.invoices()
    assert start.total_amount_cents == 3_100  # January, in advance
    # February in advance: 3100, less the 10 paused January days it had paid for:
    # 10/31 × 3100 = 1000, a credit note on January's invoice consumed here.
    assert _fees(february) == [("subscription", 3_100, "1")]
    assert (february.credit_notes_amount_cents, february.total_amount_cents) == (1_000, 2_100)

    # Pause at the end of February, resuming Mar 11: March's fee waits for the resume.
    body = {"subscription": {"pause_at": "end_of_period", "resume_at": "2026-03-11T00:00:00Z"}}
    scheduled = (await pauses.ok("POST", f"{SUB}/pause", body))["subscription"]
    assert scheduled["status"] == "active"
    assert scheduled["scheduled_pause_at"] == "2026-03-01T00:00:00Z"
    assert scheduled["resume_at"] == "2026-03-11T00:00:00Z"
    await pauses.advance("2026-03-05T00:00:00Z")
    assert (await pauses.subscription())["status"] == "paused"
    assert len(await pauses.invoices()) == 2  # nothing billed at Mar 1
    await pauses.advance("2026-03-12T00:00:00Z")
    *_, resume = await pauses.invoices()
    # Mar 11..31: 21 of 31 days × 3100 = 2100.
    assert (resume.kind, _fees(resume), resume.total_amount_cents) == (
        "resume",
        [("subscription", 2_100, "1")],
        2_100,
    )
    await pauses.advance("2026-04-01T00:00:00Z")
    *_, april = await pauses.invoices()
    # March was billed from the resume only: nothing to credit; April in full (30 days).
    assert (april.credit_notes_amount_cents, april.total_amount_cents) == (0, 3_100)

    if os.environ.get("BXB_RECORD_HISTORY"):  # refresh the replay test's recorded histories
        wf_id = workflow_id(tenant_a.organization_id, "sub_1")
        await record_histories(temporal_env.client, wf_id, "subscription_pause")


async def test_refusals(pauses: Pauses, receiver: WebhookReceiver) -> None:
    await pauses.setup(receiver, "basic")
    await pauses.advance("2026-01-10T00:00:00Z")
    assert await pauses.refused(f"{SUB}/resume", {}) == {
        "subscription": ["subscription_not_paused"]
    }
    past = {"subscription": {"resume_at": "2026-01-09T00:00:00Z"}}
    assert await pauses.refused(f"{SUB}/pause", past) == {"resume_at": ["invalid_date"]}
    # At period end (Feb 1), a resume on Jan 20 would come before the pause.
    early = {"subscription": {"pause_at": "end_of_period", "resume_at": "2026-01-20T00:00:00Z"}}
    assert await pauses.refused(f"{SUB}/pause", early) == {"resume_at": ["invalid_date"]}
    bad = await pauses.send("POST", f"{SUB}/pause", {"subscription": {"pause_at": "soon"}})
    assert bad.status_code == 422
    assert bad.json()["error_details"] == {"pause_at": ["value_is_invalid"]}

    # An empty body pauses now; a resume before the pause began is refused; {} resumes now.
    assert (await pauses.ok("POST", f"{SUB}/pause"))["subscription"]["status"] == "paused"
    before = {"subscription": {"resume_at": "2026-01-09T00:00:00Z"}}
    assert await pauses.refused(f"{SUB}/resume", before) == {"resume_at": ["invalid_date"]}
    later = {"subscription": {"resume_at": "2026-03-01T00:00:00Z"}}  # moves the timer
    moved = (await pauses.ok("POST", f"{SUB}/resume", later))["subscription"]
    assert (moved["status"], moved["resume_at"]) == ("paused", "2026-03-01T00:00:00Z")
    assert (await pauses.ok("POST", f"{SUB}/resume", {}))["subscription"]["status"] == "active"

    # A resume while a pause is only scheduled cancels it.
    end = {"subscription": {"pause_at": "end_of_period"}}
    scheduled = (await pauses.ok("POST", f"{SUB}/pause", end))["subscription"]
    assert scheduled["scheduled_pause_at"] == "2026-02-01T00:00:00Z"
    assert await pauses.refused(f"{SUB}/pause", {}) == {
        "subscription": ["subscription_already_paused"]
    }
    canceled = (await pauses.ok("POST", f"{SUB}/resume"))["subscription"]
    assert (canceled["status"], canceled["scheduled_pause_at"]) == ("active", None)
    await pauses.advance("2026-02-02T00:00:00Z")
    assert (await pauses.subscription())["status"] == "active"

    future = {
        "external_customer_id": "cus_1",
        "plan_code": "basic",
        "external_id": "sub_2",
        "subscription_at": "2026-03-01T00:00:00Z",
    }
    await pauses.ok("POST", "/api/v1/subscriptions", {"subscription": future})
    assert await pauses.refused("/api/v1/subscriptions/sub_2/pause", {}) == {
        "subscription": ["subscription_not_started"]
    }

    await pauses.ok("DELETE", SUB)
    terminated = {"subscription": ["subscription_is_terminated"]}
    assert await pauses.refused(f"{SUB}/pause", {}) == terminated
    assert await pauses.refused(f"{SUB}/resume", {}) == terminated


async def test_another_organization_sees_no_subscription_to_pause(
    pauses: Pauses,
    receiver: WebhookReceiver,
    tenant_b: Tenant,
    live_api: str,
    tenant_a: Tenant,
) -> None:
    await pauses.setup(receiver, "basic")
    await pauses.ok("POST", f"{SUB}/pause", {})
    other = Pauses(pauses.client, tenant_b, pauses.sessions)
    for route in ("pause", "resume"):
        response = await other.send("POST", f"{SUB}/{route}", {})
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "subscription_not_found"
    listed = await other.ok("GET", "/api/v1/subscriptions?status[]=paused")
    assert listed["subscriptions"] == []
    # Lago's own client reads a paused subscription (status is a string to it).
    lago = Client(api_key=tenant_a.api_key, api_url=live_api)
    found = await asyncio.to_thread(lago.subscriptions.find, "sub_1")
    assert found.status == "paused"
    page = await asyncio.to_thread(lago.subscriptions.find_all, {"external_customer_id": "cus_1"})
    assert [s.status for s in page["subscriptions"]] == ["paused"]
    await pauses.ok("POST", f"{SUB}/resume")
    assert (await pauses.subscription())["status"] == "active"


async def test_terminated_while_paused_bills_the_days_before_the_pause(
    pauses: Pauses, receiver: WebhookReceiver
) -> None:
    await pauses.setup(receiver, "basic")
    await pauses.advance("2026-01-11T00:00:00Z")
    await pauses.ok("POST", f"{SUB}/pause")  # no resume_at: paused until asked
    await pauses.advance("2026-01-15T00:00:00Z")
    await pauses.usage(40)  # during the pause: not billed
    await pauses.advance("2026-01-21T00:00:00Z")
    terminated = (await pauses.ok("DELETE", SUB))["subscription"]
    assert (terminated["status"], terminated["paused_at"]) == ("terminated", None)
    assert await pauses.pause_rows() == [("2026-01-11T00:00:00Z", "2026-01-21T00:00:00Z", None)]
    [invoice] = await pauses.invoices()
    # Jan 1..10 billed (10/31 × 3100 = 1000); Jan 11..20 paused; no usage outside the pause.
    assert invoice.kind == "termination"
    assert _fees(invoice) == [("subscription", 1_000, "1"), ("charge", 0, "0")]
    assert await pauses.webhooks() == [
        ("subscription.started", "active"),
        ("subscription.paused", "paused"),
        ("subscription.terminated", "terminated"),
    ]


async def test_an_upgrade_while_paused_is_billed_from_the_resume(
    pauses: Pauses, receiver: WebhookReceiver
) -> None:
    await pauses.setup(receiver, "pro")  # $31.00 in advance
    team = {
        "name": "Team",
        "code": "team",
        "interval": "monthly",
        "amount_cents": 6200,
        "amount_currency": "USD",
        "pay_in_advance": True,
    }
    await pauses.ok("POST", "/api/v1/plans", {"plan": team})
    await pauses.advance("2026-01-11T00:00:00Z")
    await pauses.ok("POST", f"{SUB}/pause")
    await pauses.advance("2026-01-21T00:00:00Z")
    body = {"external_customer_id": "cus_1", "plan_code": "team", "external_id": "sub_1"}
    upgraded = await pauses.ok("POST", "/api/v1/subscriptions", {"subscription": body})
    assert (upgraded["subscription"]["plan_code"], upgraded["subscription"]["status"]) == (
        "team",
        "paused",
    )
    # Pro's unused days Jan 21..31 (11) and its paused days Jan 11..20 (10) are credited:
    # 21/31 × 3100 = 2100, a note on the start invoice. Team waits for the resume.
    [start] = await pauses.invoices()
    assert start.total_amount_cents == 3_100
    await pauses.advance("2026-01-25T00:00:00Z")
    await pauses.ok("POST", f"{SUB}/resume")
    _, resume = await pauses.invoices()
    # Team Jan 25..31: 7/31 × 6200 = 1400, paid by the 2100 note (700 left).
    assert (resume.kind, _fees(resume)) == ("resume", [("subscription", 1_400, "1")])
    assert (resume.credit_notes_amount_cents, resume.total_amount_cents) == (1_400, 0)
    await pauses.advance("2026-02-01T00:00:00Z")
    *_, february = await pauses.invoices()
    # February in full (6200), less the 700 left of the note.
    assert (february.credit_notes_amount_cents, february.total_amount_cents) == (700, 5_500)


async def test_a_minimum_commitment_is_prorated_by_the_days_not_paused(
    pauses: Pauses, receiver: WebhookReceiver
) -> None:
    await pauses.setup(receiver, "basic")
    metric = (await pauses.ok("GET", "/api/v1/billable_metrics/api_calls"))["billable_metric"]
    plan = {
        "name": "Committed",
        "code": "committed",
        "interval": "monthly",
        "amount_cents": 3100,
        "amount_currency": "USD",
        "minimum_commitment": {"amount_cents": 9300},
        "charges": [
            {
                "billable_metric_id": metric["lago_id"],
                "charge_model": "standard",
                "properties": {"amount": "0.10"},
            }
        ],
    }
    await pauses.ok("POST", "/api/v1/plans", {"plan": plan})
    body = {"external_customer_id": "cus_1", "plan_code": "committed", "external_id": "sub_2"}
    created = await pauses.ok("POST", "/api/v1/subscriptions", {"subscription": body})
    lago_id = created["subscription"]["lago_id"]
    await pauses.advance("2026-01-05T00:00:00Z")
    await pauses.usage(100, "sub_2")
    await pauses.advance("2026-01-11T00:00:00Z")
    pause = {"subscription": {"resume_at": "2026-01-21T00:00:00Z"}}
    await pauses.ok("POST", "/api/v1/subscriptions/sub_2/pause", pause)
    await pauses.advance("2026-02-01T00:00:00Z")
    [invoice] = [i for i in await pauses.invoices() if str(i.subscription_id) == lago_id]
    # Base 21/31 × 3100 = 2100, usage 100 × $0.10 = 1000: 3100 billed. The commitment
    # counts the 21 days not paused: 21/31 × 9300 = 6300, a true-up of 6300 − 3100 = 3200.
    assert _fees(invoice) == [
        ("subscription", 2_100, "1"),
        ("charge", 1_000, "100"),
        ("commitment", 3_200, "1"),
    ]
    assert invoice.total_amount_cents == 6_300
