"""Unused prepaid days are given back once, against the fee that billed them.

Found by the ledger property (tests/properties): with a grace period, the days an upgrade
left unused were credited twice (a credit line on the upgrade's invoice, plus a credit
note on the invoice that billed them), and days billed by a voided invoice were credited.

Pro is $49.00 a month in advance from Jan 1 (UTC, calendar); on Jan 2 it is upgraded to
Team, $690.00 a year in advance. Unused: Jan 2..31, 30/31 × 4900 = 4741.9 → 4742. Team:
Jan 2..Dec 31, 364/365 × 69000 = 68810.96 → 68811. No taxes.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.models import Invoice
from tests.support.auth import Tenant

pytestmark = pytest.mark.slow

UNUSED, TEAM = 4_742, 68_811


class Upgrade:
    def __init__(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        sessions: async_sessionmaker[AsyncSession],
    ) -> None:
        self.client, self.headers, self.sessions = client, tenant.headers, sessions
        self.clock = ""

    async def call(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        response = await self.client.request(
            method, f"/api/v1{path}", json=body, headers=self.headers
        )
        assert response.status_code == status, response.text
        return response.json()

    async def start(self, grace_days: int) -> None:
        config = {"billing_configuration": {"invoice_grace_period": grace_days}}
        await self.call("PUT", "/organizations", {"organization": config})
        clock = {"name": "c", "frozen_time": "2026-01-01T00:00:00Z"}
        self.clock = (await self.call("POST", "/test_clocks", {"test_clock": clock}))["test_clock"][
            "lago_id"
        ]
        customer = {"external_id": "cus", "currency": "USD", "test_clock_id": self.clock}
        await self.call("POST", "/customers", {"customer": customer})
        for code, interval, amount in (("pro", "monthly", 4_900), ("team", "yearly", 69_000)):
            plan = {
                "name": code,
                "code": code,
                "interval": interval,
                "amount_cents": amount,
                "amount_currency": "USD",
                "pay_in_advance": True,
            }
            await self.call("POST", "/plans", {"plan": plan})
        await self.subscribe("pro")

    async def subscribe(self, plan: str) -> None:
        body = {"external_customer_id": "cus", "plan_code": plan, "external_id": "sub"}
        await self.call("POST", "/subscriptions", {"subscription": body})

    async def upgrade_on_jan_2(self) -> None:
        body = {"test_clock": {"frozen_time": "2026-01-02T00:00:00Z"}}
        await self.call("POST", f"/test_clocks/{self.clock}/advance", body)
        await self.subscribe("team")

    async def invoice(self, kind: str) -> Invoice:
        """The subscription's invoice of this kind (start, plan_change), read afresh."""
        async with self.sessions() as session:
            found = await session.scalar(
                select(Invoice)
                .where(Invoice.kind == kind)
                .execution_options(populate_existing=True)
            )
        assert found is not None
        return found

    async def finalize(self, kind: str) -> Invoice:
        await self.call("PUT", f"/invoices/{(await self.invoice(kind)).id}/finalize")
        return await self.invoice(kind)

    async def credit_pro_fee(self, invoice: Invoice, amount: int, status: int = 200) -> Any:
        [fee] = [f for f in invoice.fees if f.fee_type == "subscription"]
        note = {
            "invoice_id": str(invoice.id),
            "credit_amount_cents": amount,
            "items": [{"fee_id": str(fee.id), "amount_cents": amount}],
        }
        return await self.call("POST", "/credit_notes", {"credit_note": note}, status)


@pytest.fixture
def flow(
    temporal_client: httpx.AsyncClient,
    worker: str,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> Upgrade:
    return Upgrade(temporal_client, tenant_a, sessions)


async def test_days_credited_by_a_note_are_not_credited_again_by_the_upgrade(flow: Upgrade) -> None:
    await flow.start(grace_days=3)
    await flow.upgrade_on_jan_2()  # both invoices are drafts
    await flow.credit_pro_fee(await flow.finalize("start"), 4_900)  # all of January
    change = await flow.finalize("plan_change")
    # The 4 900 note pays part of the upgrade; the unused days are not credited on top.
    assert [f.fee_type for f in change.fees] == ["subscription"]
    assert (change.credit_notes_amount_cents, change.total_amount_cents) == (4_900, TEAM - 4_900)


async def test_days_credited_by_the_upgrade_are_not_credited_again_by_a_note(flow: Upgrade) -> None:
    await flow.start(grace_days=3)
    await flow.upgrade_on_jan_2()
    change = await flow.finalize("plan_change")  # before the invoice it credits
    assert (change.credit_notes_amount_cents, change.total_amount_cents) == (UNUSED, TEAM - UNUSED)
    start = await flow.finalize("start")
    refused = await flow.credit_pro_fee(start, 4_900, status=422)
    assert refused["error_details"] == {"amount_cents": ["higher_than_remaining_fee_amount"]}
    await flow.credit_pro_fee(start, 4_900 - UNUSED)  # Jan 1, the day used, remains


async def test_days_billed_by_a_voided_invoice_are_not_credited(flow: Upgrade) -> None:
    await flow.start(grace_days=0)
    start = await flow.invoice("start")
    await flow.call("POST", f"/invoices/{start.id}/void")  # unpaid: nothing to give back
    await flow.upgrade_on_jan_2()
    change = await flow.invoice("plan_change")
    assert [f.fee_type for f in change.fees] == ["subscription"]
    assert (change.credit_notes_amount_cents, change.total_amount_cents) == (0, TEAM)


async def test_the_credit_line_of_an_upgrade_is_not_itself_creditable(flow: Upgrade) -> None:
    await flow.start(grace_days=3)
    await flow.upgrade_on_jan_2()
    change = await flow.finalize("plan_change")  # its credit stays a line
    team, line = change.fees
    assert (line.fee_type, line.amount_cents) == ("credit", UNUSED)
    items = [{"fee_id": str(line.id), "amount_cents": UNUSED}]
    refused = await flow.call(
        "POST",
        "/credit_notes",
        {
            "credit_note": {
                "invoice_id": str(change.id),
                "items": items,
                "credit_amount_cents": UNUSED,
            }
        },
        status=422,
    )
    assert refused["error_details"] == {"amount_cents": ["higher_than_remaining_fee_amount"]}
    items = [{"fee_id": str(team.id), "amount_cents": TEAM}]
    estimate = await flow.call(
        "POST",
        "/credit_notes/estimate",
        {"credit_note": {"invoice_id": str(change.id), "items": items}},
    )
    assert estimate["estimated_credit_note"]["max_creditable_amount_cents"] == TEAM
