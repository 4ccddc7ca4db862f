"""Subscriptions that end: termination now, ending_at, canceling a pending one; and refusals."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.models import CreditNote, Invoice
from tests.support.auth import Tenant

pytestmark = pytest.mark.slow


class Api:
    def __init__(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        self.client = client
        self.headers = tenant.headers

    async def send(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return await self.client.request(method, path, json=body, headers=self.headers)

    async def ok(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        response = await self.send(method, path, body)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def setup(self, frozen: str, *, pay_in_advance: bool) -> str:
        clock = await self.ok(
            "POST", "/api/v1/test_clocks", {"test_clock": {"name": "c", "frozen_time": frozen}}
        )
        clock_id: str = clock["test_clock"]["lago_id"]
        await self.ok(
            "POST",
            "/api/v1/customers",
            {"customer": {"external_id": "cus_1", "test_clock_id": clock_id}},
        )
        plan = {
            "name": "Basic",
            "code": "basic",
            "interval": "monthly",
            "amount_cents": 3100,
            "amount_currency": "USD",
            "pay_in_advance": pay_in_advance,
        }
        await self.ok("POST", "/api/v1/plans", {"plan": plan})
        return clock_id

    async def subscribe(self, **extra: Any) -> httpx.Response:
        body = {"external_customer_id": "cus_1", "plan_code": "basic", "external_id": "sub_1"}
        return await self.send("POST", "/api/v1/subscriptions", {"subscription": body | extra})

    async def advance(self, clock_id: str, to: str) -> httpx.Response:
        return await self.send(
            "POST",
            f"/api/v1/test_clocks/{clock_id}/advance",
            {"test_clock": {"frozen_time": to}},
        )


async def _invoices(sessions: async_sessionmaker[AsyncSession]) -> list[Invoice]:
    async with sessions() as session:
        return list(await session.scalars(select(Invoice).order_by(Invoice.sequential_id)))


async def test_terminating_now_credits_unused_prepaid_days(
    temporal_client: httpx.AsyncClient,
    worker: str,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    api = Api(temporal_client, tenant_a)
    clock = await api.setup("2026-01-01T00:00:00Z", pay_in_advance=True)
    assert (await api.subscribe()).status_code == 200
    [start] = await _invoices(sessions)
    assert (start.kind, start.total_amount_cents) == ("start", 3100)  # January, in advance
    assert (await api.advance(clock, "2026-01-11T08:00:00Z")).status_code == 200
    ended = (await api.ok("DELETE", "/api/v1/subscriptions/sub_1"))["subscription"]
    assert (ended["status"], ended["terminated_at"]) == ("terminated", "2026-01-11T08:00:00Z")
    # Jan 11..31 were paid and are unused (the termination day is not the old state's):
    # $31.00 × 21/31 = $21.00, credited on the invoice that billed them. Nothing else is
    # due, so there is no final invoice; the credit stays available for later invoices.
    assert [i.kind for i in await _invoices(sessions)] == ["start"]
    async with sessions() as session:
        [note] = await session.scalars(select(CreditNote))
    assert (note.invoice_id, note.reason, note.credit_amount_cents) == (
        start.id,
        "order_change",
        2100,
    )
    assert (note.balance_amount_cents, note.credit_status) == (2100, "available")
    # Terminated: further changes are refused, and the subscription is no longer live.
    again = await api.send("DELETE", "/api/v1/subscriptions/sub_1")
    assert again.status_code == 404
    assert again.json()["code"] == "subscription_not_found"


async def test_ending_at_terminates_with_a_final_invoice(
    temporal_client: httpx.AsyncClient,
    worker: str,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    api = Api(temporal_client, tenant_a)
    clock = await api.setup("2026-01-01T00:00:00Z", pay_in_advance=False)
    created = await api.subscribe(ending_at="2026-01-20T00:00:00Z")
    assert created.json()["subscription"]["ending_at"] == "2026-01-20T00:00:00Z"
    assert (await api.advance(clock, "2026-02-15T00:00:00Z")).status_code == 200
    sub = (await api.ok("GET", "/api/v1/subscriptions/sub_1"))["subscription"]
    assert (sub["status"], sub["terminated_at"]) == ("terminated", "2026-01-20T00:00:00Z")
    [final] = await _invoices(sessions)
    # Jan 1..19 in arrears: $31.00 × 19/31 = $19.00. No invoice for February.
    assert (final.kind, final.total_amount_cents) == ("termination", 1900)


async def test_a_pending_subscription_is_canceled(
    temporal_client: httpx.AsyncClient,
    worker: str,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    api = Api(temporal_client, tenant_a)
    await api.setup("2026-01-01T00:00:00Z", pay_in_advance=True)
    pending = (await api.subscribe(subscription_at="2026-02-01T00:00:00Z")).json()["subscription"]
    assert (pending["status"], pending["started_at"]) == ("pending", None)
    canceled = (await api.ok("DELETE", "/api/v1/subscriptions/sub_1"))["subscription"]
    assert (canceled["status"], canceled["canceled_at"]) == ("canceled", "2026-01-01T00:00:00Z")
    assert await _invoices(sessions) == []
    listed = await api.ok("GET", "/api/v1/subscriptions?status[]=canceled")
    assert [s["external_id"] for s in listed["subscriptions"]] == ["sub_1"]


async def test_refusals_are_lago_errors(
    temporal_client: httpx.AsyncClient, worker: str, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    api = Api(temporal_client, tenant_a)
    clock = await api.setup("2026-01-01T00:00:00Z", pay_in_advance=False)
    missing_customer = await api.send(
        "POST",
        "/api/v1/subscriptions",
        {
            "subscription": {
                "external_customer_id": "nobody",
                "plan_code": "basic",
                "external_id": "s",
            }
        },
    )
    assert (missing_customer.status_code, missing_customer.json()["code"]) == (
        404,
        "customer_not_found",
    )
    missing_plan = await api.subscribe(plan_code="nope")
    assert (missing_plan.status_code, missing_plan.json()["code"]) == (404, "plan_not_found")
    bad_time = await api.subscribe(billing_time="sometimes")
    assert bad_time.json()["error_details"] == {"billing_time": ["value_is_invalid"]}
    ends_first = await api.subscribe(ending_at="2025-12-01T00:00:00Z")
    assert ends_first.json()["error_details"] == {"ending_at": ["invalid_date"]}
    assert (await api.subscribe()).status_code == 200
    past = await api.send(
        "PUT",
        "/api/v1/subscriptions/sub_1",
        {"subscription": {"ending_at": "2025-06-01T00:00:00Z"}},
    )
    assert past.status_code == 422
    assert past.json()["error_details"] == {"subscription": ["ending_at is in the past"]}
    backwards = await api.advance(clock, "2025-12-31T00:00:00Z")
    assert backwards.json()["error_details"] == {"frozen_time": ["time_only_moves_forward"]}
    renamed = await api.ok(
        "PUT", "/api/v1/subscriptions/sub_1", {"subscription": {"name": "Renamed"}}
    )
    assert renamed["subscription"]["name"] == "Renamed"

    # Organization B sees none of it and can touch none of it.
    other = Api(temporal_client, tenant_b)
    assert (await other.send("GET", "/api/v1/subscriptions/sub_1")).status_code == 404
    assert (await other.ok("GET", "/api/v1/subscriptions"))["subscriptions"] == []
    assert (await other.send("DELETE", "/api/v1/subscriptions/sub_1")).status_code == 404
    assert (await other.advance(clock, "2026-02-01T00:00:00Z")).status_code == 404
    assert (await other.send("GET", f"/api/v1/test_clocks/{clock}")).status_code == 404
    assert (await other.ok("GET", "/api/v1/test_clocks"))["test_clocks"] == []
    usage = await other.send(
        "GET", "/api/v1/customers/cus_1/current_usage?external_subscription_id=sub_1"
    )
    assert (usage.status_code, usage.json()["code"]) == (404, "customer_not_found")


async def test_an_upgrade_credits_unused_prepaid_days_with_a_credit_note(
    temporal_client: httpx.AsyncClient,
    worker: str,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    api = Api(temporal_client, tenant_a)
    clock = await api.setup("2026-01-01T00:00:00Z", pay_in_advance=True)
    premium = {
        "name": "Premium",
        "code": "premium",
        "interval": "monthly",
        "amount_cents": 6200,
        "amount_currency": "USD",
        "pay_in_advance": True,
    }
    await api.ok("POST", "/api/v1/plans", {"plan": premium})
    assert (await api.subscribe()).status_code == 200
    assert (await api.advance(clock, "2026-01-11T00:00:00Z")).status_code == 200
    assert (await api.subscribe(plan_code="premium")).status_code == 200
    start, upgrade = await _invoices(sessions)
    async with sessions() as session:
        [note] = await session.scalars(select(CreditNote))
    # Jan 11..31 of Basic were paid and unused: $31.00 × 21/31 = $21.00 credited on the
    # start invoice, then consumed by the upgrade's invoice: Premium's Jan 11..31 in
    # advance, $62.00 × 21/31 = $42.00, less the credit = $21.00 due.
    assert (note.invoice_id, note.credit_amount_cents, note.reason) == (
        start.id,
        2100,
        "order_change",
    )
    assert (note.balance_amount_cents, note.credit_status) == (0, "consumed")
    assert [(f.fee_type, f.amount_cents) for f in upgrade.fees] == [("subscription", 4200)]
    assert (upgrade.credit_notes_amount_cents, upgrade.total_amount_cents) == (2100, 2100)
    response = await api.send("GET", f"/api/v1/invoices/{upgrade.id}")
    [credit] = response.json()["invoice"]["credits"]
    assert (credit["amount_cents"], credit["item"]["lago_item_id"]) == (2100, str(note.id))
