"""Progressive billing's reaction called directly, against a real subscription workflow
(Temporal dev server, test clock), PostgreSQL and the event store; the period-end invoice
is the workflow's own (which may run the reaction too: concurrent runs bill once).

$1.00 a unit, 20 % VAT, thresholds: $10 once, then every $20 (at $30, $50, ...).
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from bxb.events.postgres_store import PostgresEventStore
from bxb.models import AppliedUsageThreshold, Invoice, Webhook
from bxb.usage_reactions.progressive import react
from tests.support.auth import Tenant
from tests.support.progressive import (
    ProgressiveApi,
    invoices,
    progressive_invoices,
    usage_context,
)

pytestmark = pytest.mark.slow


async def test_thresholds_bill_progressively_and_the_period_deducts_them(
    temporal_client: httpx.AsyncClient,
    worker: str,
    tenant_a: Tenant,
    temporal_env: WorkflowEnvironment,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    api = ProgressiveApi(temporal_client, tenant_a)
    store = PostgresEventStore(engine)
    await api.setup("2026-03-01T00:00:00Z")
    # Only this webhook (queued with each invoice; its delivery to a closed port fails).
    endpoint = {
        "webhook_url": "http://127.0.0.1:9/hooks",
        "event_types": ["subscription.usage_threshold_reached"],
    }
    await api.ok("POST", "/api/v1/webhook_endpoints", {"webhook_endpoint": endpoint})

    async def billed(count: int, runs: int = 1) -> list[int]:
        """Run the reaction (`runs` at once), then the progressive invoices' totals once
        there are `count` (the workflow may run it as well: either way, once)."""
        context = await usage_context(sessions, temporal_env.client)
        await asyncio.gather(*(react(sessions, store, context) for _ in range(runs)))
        return [i.total_amount_cents for i in await progressive_invoices(sessions, count)]

    # Below the first threshold: nothing.
    await api.use(9, "2026-03-03T00:00:00Z")
    assert await billed(0) == []
    # $12 crosses $10: the usage so far, $12 + 20 % = $14.40.
    await api.use(3, "2026-03-05T00:00:00Z")
    assert await billed(1) == [1440]
    assert await billed(1) == [1440]  # the same crossing again bills nothing
    # $32 crosses $30 (the recurring step after $10): $32 - $12 billed = $20, + VAT $24.00.
    await api.use(20, "2026-03-10T00:00:00Z")
    assert await billed(2) == [1440, 2400]
    # $57 crosses $50: $57 - $32 billed = $25, + VAT $30.00; three runs at once bill once.
    await api.use(25, "2026-03-20T00:00:00Z")
    assert await billed(3, runs=3) == [1440, 2400, 3000]
    # $60 is short of $70.
    await api.use(3, "2026-03-25T00:00:00Z")
    assert await billed(3) == [1440, 2400, 3000]

    lifetime = (await api.ok("GET", "/api/v1/subscriptions/sub_1/lifetime_usage"))["lifetime_usage"]
    assert (
        lifetime["external_historical_usage_amount_cents"],
        lifetime["invoiced_usage_amount_cents"],
        lifetime["current_usage_amount_cents"],
    ) == (0, 0, 6000)
    assert [(t["amount_cents"], t["completion_ratio"]) for t in lifetime["usage_thresholds"]] == [
        (1000, 1.0),
        (3000, 1.0),
        (5000, 1.0),
        (7000, 0.5),
    ]
    assert all(t["reached_at"] for t in lifetime["usage_thresholds"][:3])
    assert lifetime["usage_thresholds"][3]["reached_at"] is None

    # The period closes: base $10 + usage $60, less the $57 already billed = $13 + VAT.
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
        ("progressive_billing", 1200, 0, 240, 1440),
        ("progressive_billing", 3200, 1200, 400, 2400),
        ("progressive_billing", 5700, 3200, 500, 3000),
        ("subscription", 7000, 5700, 260, 1560),
    ]
    # Paid in all: $84.00 = ($10 + $60) + 20 %.
    assert sum(i.total_amount_cents for i in found) == 8400
    final = found[-1]
    charge = next(fee for fee in final.fees if fee.fee_type == "charge")
    assert (charge.amount_cents, charge.coupons_amount_cents, charge.taxes_amount_cents) == (
        6000,
        5700,
        60,
    )

    # Lago's shapes: the invoice's credit and applied thresholds.
    second = (await api.ok("GET", f"/api/v1/invoices/{found[1].id}"))["invoice"]
    assert second["invoice_type"] == "progressive_billing"
    assert second["progressive_billing_credit_amount_cents"] == 1200
    assert second["sub_total_excluding_taxes_amount_cents"] == 2000
    assert second["total_amount_cents"] == 2400
    assert [
        (a["lifetime_usage_amount_cents"], a["usage_threshold"]["amount_cents"])
        for a in second["applied_usage_thresholds"]
    ] == [(3200, 2000)]
    assert second["applied_usage_thresholds"][0]["usage_threshold"]["recurring"] is True
    assert second["billing_periods"][0]["invoicing_reason"] == "progressive_billing"
    assert [
        (c["amount_cents"], c["before_taxes"], c["item"]["type"], c["item"]["code"])
        for c in second["credits"]
    ] == [(1200, True, "invoice", found[0].number)]
    closing = (await api.ok("GET", f"/api/v1/invoices/{final.id}"))["invoice"]
    assert closing["progressive_billing_credit_amount_cents"] == 5700
    assert closing["sub_total_excluding_taxes_amount_cents"] == 1300
    assert closing["applied_usage_thresholds"] == []
    assert [(c["amount_cents"], c["item"]["code"]) for c in closing["credits"]] == [
        (5700, found[2].number)
    ]
    async with sessions() as session:
        applied = list(await session.scalars(select(AppliedUsageThreshold)))
        hooks = list(await session.scalars(select(Webhook).order_by(Webhook.created_at)))
    assert sorted(a.passed_threshold_amount_cents for a in applied) == [1000, 3000, 5000]
    # Lago's subscription.usage_threshold_reached, once per threshold crossed.
    assert [h.webhook_type for h in hooks] == ["subscription.usage_threshold_reached"] * 3
    reached = [h.payload["subscription"] for h in hooks]
    assert [
        (r["usage_threshold"]["amount_cents"], r["usage_threshold"]["recurring"]) for r in reached
    ] == [
        (1000, False),
        (2000, True),
        (2000, True),
    ]
    assert reached[0]["external_id"] == "sub_1"
    assert reached[0]["plan"]["code"] == "metered"
    assert reached[0]["customer"]["external_id"] == "cus_1"

    # April: March's usage is invoiced lifetime usage now; $10 at a fixed threshold already
    # crossed bills nothing, the next step is $70 lifetime.
    await api.use(5, "2026-04-02T00:00:00Z")
    assert await billed(3) == [1440, 2400, 3000]
    lifetime = (await api.ok("GET", "/api/v1/subscriptions/sub_1/lifetime_usage"))["lifetime_usage"]
    assert (lifetime["invoiced_usage_amount_cents"], lifetime["current_usage_amount_cents"]) == (
        6000,
        500,
    )
    await api.use(5, "2026-04-03T00:00:00Z")
    assert (await billed(4))[3] == 1200  # $70 crossed: April's $10 + VAT
    async with sessions() as session:
        april = await session.scalar(select(Invoice).where(Invoice.kind == "progressive:7000"))
    assert april is not None
    assert april.fees_amount_cents == 1000


async def test_termination_deducts_the_last_progressive_invoice_not_a_voided_one(
    temporal_client: httpx.AsyncClient,
    worker: str,
    tenant_a: Tenant,
    temporal_env: WorkflowEnvironment,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    api = ProgressiveApi(temporal_client, tenant_a)
    store = PostgresEventStore(engine)
    await api.setup("2026-03-01T00:00:00Z")

    async def billed(count: int, runs: int = 1) -> list[int]:
        """Run the reaction (`runs` at once), then the progressive invoices' totals once
        there are `count` (the workflow may run it as well: either way, once)."""
        context = await usage_context(sessions, temporal_env.client)
        await asyncio.gather(*(react(sessions, store, context) for _ in range(runs)))
        return [i.total_amount_cents for i in await progressive_invoices(sessions, count)]

    await api.use(12, "2026-03-05T00:00:00Z")
    assert await billed(1) == [1440]
    await api.use(20, "2026-03-10T00:00:00Z")
    assert await billed(2) == [1440, 2400]
    _, second = await invoices(sessions)
    # The second progressive invoice is voided: it billed nothing, and its crossing ($30)
    # is not billed again before the period ends.
    voided = await api.send("POST", f"/api/v1/invoices/{second.id}/void")
    assert voided.status_code == 200, voided.text
    assert await billed(2) == [1440, 2400]

    await api.advance("2026-03-15T00:00:00Z")
    assert (await api.send("DELETE", "/api/v1/subscriptions/sub_1")).status_code == 200
    found = await invoices(sessions)
    closing = next(i for i in found if i.invoice_type == "subscription")
    assert closing.kind == "termination"
    charge = next(fee for fee in closing.fees if fee.fee_type == "charge")
    # $32 of usage, less the $12 the first (finalized) progressive invoice billed.
    assert (charge.amount_cents, charge.coupons_amount_cents) == (3200, 1200)
    assert closing.progressive_billing_credit_amount_cents == 1200


async def test_minimums_wait_for_the_period_end_and_count_usage_once(
    temporal_client: httpx.AsyncClient,
    worker: str,
    tenant_a: Tenant,
    temporal_env: WorkflowEnvironment,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A charge minimum of $30 and a plan commitment of $100 (both with 20 % VAT): the
    progressive invoice bills usage only; the period-end invoice trues up the charge to
    $30 and the period to $100, counting March's $12 of usage once."""
    api = ProgressiveApi(temporal_client, tenant_a)
    store = PostgresEventStore(engine)
    await api.setup(
        "2026-03-01T00:00:00Z",
        thresholds=[{"amount_cents": 1000}],
        charge={"min_amount_cents": 3000},
        minimum_commitment={"amount_cents": 10000},
    )
    await api.use(12, "2026-03-05T00:00:00Z")
    context = await usage_context(sessions, temporal_env.client)
    await react(sessions, store, context)
    (first,) = await progressive_invoices(sessions, 1)
    assert [(f.fee_type, f.amount_cents) for f in first.fees] == [("charge", 1200)]
    assert first.total_amount_cents == 1440

    await api.advance("2026-04-01T00:00:00Z")
    final = (await invoices(sessions))[-1]
    # Base 1000, usage 1200, charge true-up 3000 - 1200 = 1800, commitment
    # 10000 - (1000 + 1200 + 1800) = 6000: fees 10000, less 1200 billed = 8800, VAT 1760.
    assert sorted((f.fee_type, f.amount_cents) for f in final.fees) == [
        ("charge", 1200),
        ("charge", 1800),
        ("commitment", 6000),
        ("subscription", 1000),
    ]
    assert (
        final.fees_amount_cents,
        final.progressive_billing_credit_amount_cents,
        final.taxes_amount_cents,
        final.total_amount_cents,
    ) == (10000, 1200, 1760, 10560)
    # Paid in all: 1440 + 10560 = 12000 = the $100 commitment + 20 %.
    assert first.total_amount_cents + final.total_amount_cents == 12000
