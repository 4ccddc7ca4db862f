"""Acceptance (issue 10): progressive billing end to end, on the real Temporal dev server,
through the HTTP API, with a test clock: events → the watcher's signal → the workflow's
usage reactions → progressive billing invoices → the period-end invoice deducting them.

Plan "metered" (monthly, calendar, $10.00 in arrears), $1.00 a unit, 20 % VAT, one
recurring threshold of $20.00 (crossed at $20, $40, $60, ... of lifetime usage).

Amounts by hand (cents):
- Mar 5, 25 units: $25 ≥ $20 → progressive invoice 1: fees 2500, nothing billed before,
  VAT 500, total 3000.
- Mar 12, 18 more: $43 ≥ $40 → progressive invoice 2: fees 4300, less 2500 already billed
  = 1800, VAT 360, total 2160.
- Mar 20, 10 more: $53 < $60 → nothing.
- Apr 1, the period-end invoice: base 1000 + usage 5300 = 6300, less 4300 billed by both
  progressive invoices (2500 + 1800) = 2000, VAT 400, total 2400.
- In all 3000 + 2160 + 2400 = 7560 = (1000 + 5300) × 1.2.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.api.app import create_app
from bxb.core.settings import Settings
from bxb.models import Invoice
from tests.conftest import app_client
from tests.support.auth import Tenant
from tests.support.progressive import ProgressiveApi, invoices, progressive_invoices
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.slow

EVERY_20 = [{"amount_cents": 2000, "recurring": True, "threshold_display_name": "Every $20"}]


@pytest.fixture
async def api(
    temporal_settings: Settings, worker: str, tenant_a: Tenant
) -> AsyncIterator[ProgressiveApi]:
    async for client in app_client(create_app(temporal_settings)):
        yield ProgressiveApi(client, tenant_a)


async def _reached(receiver: WebhookReceiver, count: int, within: float = 20.0) -> list[Any]:
    """The subscription.usage_threshold_reached webhooks received, once `count` came."""
    deadline = time.monotonic() + within
    while True:
        found = [
            d
            for d in receiver.deliveries
            if d.payload["webhook_type"] == "subscription.usage_threshold_reached"
        ]
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, f"{len(found)} webhooks, not {count}"
        await asyncio.sleep(0.1)


async def test_a_recurring_threshold_crossed_twice_and_the_period_deducting_both(
    api: ProgressiveApi, sessions: async_sessionmaker[AsyncSession], receiver: WebhookReceiver
) -> None:
    await api.setup("2026-03-01T00:00:00Z", thresholds=EVERY_20)
    secret = await api.ok("GET", "/api/v1/webhook_endpoints/signing_secret")
    receiver.secret = secret["webhook_signing_secret"]["secret"]
    endpoint = {
        "webhook_url": receiver.url,
        "signature_algo": "hmac",
        "event_types": ["subscription.usage_threshold_reached"],
    }
    await api.ok("POST", "/api/v1/webhook_endpoints", {"webhook_endpoint": endpoint})

    await api.use(25, "2026-03-05T00:00:00Z")
    (first,) = await progressive_invoices(sessions, 1)
    assert (first.fees_amount_cents, first.progressive_billing_credit_amount_cents) == (2500, 0)
    assert (first.taxes_amount_cents, first.total_amount_cents) == (500, 3000)
    assert first.status == "finalized"

    await api.use(18, "2026-03-12T00:00:00Z")
    _, second = await progressive_invoices(sessions, 2)
    assert (second.fees_amount_cents, second.progressive_billing_credit_amount_cents) == (
        4300,
        2500,
    )
    assert (second.taxes_amount_cents, second.total_amount_cents) == (360, 2160)

    await api.use(10, "2026-03-20T00:00:00Z")
    await api.advance("2026-04-01T00:00:00Z")
    found = await invoices(sessions)
    assert [
        (
            i.invoice_type,
            i.fees_amount_cents,
            i.progressive_billing_credit_amount_cents,
            i.taxes_amount_cents,
            i.total_amount_cents,
        )
        for i in found
    ] == [
        ("progressive_billing", 2500, 0, 500, 3000),
        ("progressive_billing", 4300, 2500, 360, 2160),
        ("subscription", 6300, 4300, 400, 2400),
    ]
    assert sum(i.total_amount_cents for i in found) == 7560
    final = found[-1]
    assert final.kind == "period_end"
    # Both progressive invoices' net amounts, 2500 + 1800, deducted.
    assert final.progressive_billing_credit_amount_cents == (
        first.total_amount_cents - first.taxes_amount_cents
    ) + (second.total_amount_cents - second.taxes_amount_cents)

    # Lago's shapes.
    shown = (await api.ok("GET", f"/api/v1/invoices/{second.id}"))["invoice"]
    assert shown["invoice_type"] == "progressive_billing"
    assert [
        (a["lifetime_usage_amount_cents"], a["usage_threshold"]["amount_cents"])
        for a in shown["applied_usage_thresholds"]
    ] == [(4300, 2000)]
    closing = (await api.ok("GET", f"/api/v1/invoices/{final.id}"))["invoice"]
    assert closing["progressive_billing_credit_amount_cents"] == 4300
    assert closing["sub_total_excluding_taxes_amount_cents"] == 2000
    lifetime = (await api.ok("GET", "/api/v1/subscriptions/sub_1/lifetime_usage"))["lifetime_usage"]
    assert (lifetime["invoiced_usage_amount_cents"], lifetime["current_usage_amount_cents"]) == (
        5300,
        0,
    )
    # The workflow collects the progressive invoices like its own: no provider here, so
    # they wait for a manual payment, pending.
    async with sessions() as session:
        pending = list(
            await session.scalars(
                select(Invoice.payment_status).where(Invoice.invoice_type == "progressive_billing")
            )
        )
    assert pending == ["pending", "pending"]
    # Lago's subscription.usage_threshold_reached, signed, once per crossing.
    reached = await _reached(receiver, 2)
    assert all(d.verified for d in reached)
    assert [
        (
            d.payload["subscription"]["external_id"],
            d.payload["subscription"]["usage_threshold"]["amount_cents"],
            d.payload["subscription"]["usage_threshold"]["recurring"],
        )
        for d in reached
    ] == [("sub_1", 2000, True)] * 2
