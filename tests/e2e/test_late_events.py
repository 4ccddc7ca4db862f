"""Late events re-rate periods already invoiced: the whole path, with a test clock.

API → event store → watcher → coalesced signal → the subscription's workflow → the usage
activity → the late-events reaction; Stripe at localstripe, real Temporal.

A $0 monthly plan (calendar, from Mar 1 2026) with one standard charge of $0.50 per unit
of a sum metric, and the organization's 20 % tax. March: 100 units, 5 000 + 1 000 tax =
6 000; April: 10 units, 500 + 100 = 600; both paid by card.

On May 2 two late events arrive: -30 units dated Mar 20 (a correction) and 40 units dated
Apr 25. March is re-rated to 70 units: a credit note of 30 × 50 = 1 500 + 300 tax = 1 800,
refunded to the card (March is paid). April is re-rated to 50 units: a corrective invoice
of 40 × 50 = 2 000 + 400 tax = 2 400, charged to the card. Each exactly once, through
repeated events, another signal and the next period close.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from bxb.api.app import create_app
from bxb.core.settings import Settings
from bxb.events.postgres_store import PostgresEventStore
from bxb.models import CreditNote, Invoice, LateEventRerating
from bxb.worker import build_worker
from tests.conftest import app_client
from tests.support.auth import Tenant
from tests.support.billing import Billing
from tests.support.stripe_cards import GOOD_CARD
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.slow

T = TypeVar("T")
# The watcher trusts its answer to "which events are late for this subscription" (dated
# before its current period) this long; the story waits that out after a period close.
INTEREST_TTL = 0.5


@pytest.fixture
async def late_stack(
    stripe_settings: Settings,
    temporal_env: WorkflowEnvironment,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[httpx.AsyncClient]:
    """The e2e stack (API, worker, localstripe) with a short interest TTL."""
    settings = stripe_settings.model_copy(update={"usage_interest_ttl_seconds": INTEREST_TTL})
    queue = settings.temporal_task_queue
    events = PostgresEventStore(engine)
    async with build_worker(temporal_env.client, queue, sessions, events, settings):
        async for client in app_client(create_app(settings)):
            yield client


def unix(day: str) -> int:
    return int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp())


async def eventually(probe: Callable[[], Awaitable[T | None]], seconds: float = 30) -> T:
    for _ in range(int(seconds * 10)):
        found = await probe()
        if found is not None:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError("not within the time allowed")


class LateStory:
    def __init__(
        self, billing: Billing, sessions: async_sessionmaker[AsyncSession], tenant: Tenant
    ) -> None:
        self.billing, self.sessions, self.tenant = billing, sessions, tenant
        self.sent = 0

    async def catalog(self) -> dict[str, Any]:
        metric = {
            "name": "Calls",
            "code": "calls",
            "aggregation_type": "sum_agg",
            "field_name": "n",
        }
        created = await self.billing.ok(
            "POST", "/api/v1/billable_metrics", {"billable_metric": metric}
        )
        tax = {"name": "VAT", "code": "vat", "rate": "20", "applied_to_organization": True}
        await self.billing.ok("POST", "/api/v1/taxes", {"tax": tax})
        return {
            "name": "Usage",
            "code": "usage",
            "interval": "monthly",
            "amount_cents": 0,
            "amount_currency": "USD",
            "charges": [
                {
                    "billable_metric_id": created["billable_metric"]["lago_id"],
                    "charge_model": "standard",
                    "properties": {"amount": "0.50"},
                }
            ],
        }

    async def send(self, n: int, day: str, transaction_id: str | None = None) -> None:
        self.sent += 1
        event = {
            "transaction_id": transaction_id or f"tx-{self.sent}",
            "external_subscription_id": "sub_1",
            "code": "calls",
            "timestamp": unix(day),
            "properties": {"n": n},
        }
        await self.billing.ok("POST", "/api/v1/events", {"event": event})

    async def invoices(self) -> list[Invoice]:
        async with self.sessions() as session:
            query = (
                select(Invoice)
                .where(Invoice.organization_id == self.tenant.organization_id)
                .order_by(Invoice.created_at)
                .execution_options(populate_existing=True)
            )
            return list(await session.scalars(query))

    async def notes(self) -> list[CreditNote]:
        async with self.sessions() as session:
            query = (
                select(CreditNote)
                .where(CreditNote.organization_id == self.tenant.organization_id)
                .execution_options(populate_existing=True)
            )
            return list(await session.scalars(query))

    async def refunded(self, note_id: Any) -> CreditNote | None:
        note = next(n for n in await self.notes() if n.id == note_id)
        return note if note.refund_status == "succeeded" else None

    async def reratings(self) -> list[LateEventRerating]:
        async with self.sessions() as session:
            query = select(LateEventRerating).where(
                LateEventRerating.organization_id == self.tenant.organization_id
            )
            return list(await session.scalars(query))

    async def corrective(self) -> Invoice | None:
        found = [i for i in await self.invoices() if i.kind.startswith("late_usage")]
        return found[0] if found else None

    async def paid(self, invoice_id: Any) -> Invoice | None:
        invoice = next(i for i in await self.invoices() if i.id == invoice_id)
        return invoice if invoice.payment_status == "succeeded" else None


async def test_late_events_give_one_credit_note_and_one_corrective_invoice(
    late_stack: httpx.AsyncClient,
    tenant_a: Tenant,
    receiver: WebhookReceiver,
    localstripe_url: str,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    billing = Billing(late_stack, tenant_a, localstripe_url)
    story = LateStory(billing, sessions, tenant_a)
    await billing.setup(receiver, GOOD_CARD, plan=await story.catalog())
    await story.send(100, "2026-03-10")
    await billing.advance("2026-04-01T00:00:00Z")
    await story.send(10, "2026-04-10")
    await billing.advance("2026-05-01T00:00:00Z")
    await billing.advance("2026-05-02T00:00:00Z")
    march, april = await story.invoices()
    assert (march.period_start, march.total_amount_cents) == (
        datetime(2026, 3, 1, tzinfo=UTC),
        6000,
    )
    assert (april.period_start, april.total_amount_cents) == (
        datetime(2026, 4, 1, tzinfo=UTC),
        600,
    )
    assert march.payment_status == april.payment_status == "succeeded"

    await asyncio.sleep(INTEREST_TTL)  # in production a close is seconds behind, not 5 s
    await story.send(-30, "2026-03-20")
    await story.send(40, "2026-04-25")
    corrective = await eventually(story.corrective)
    note = (await eventually(story.notes))[0]

    # March: 30 units × 50 = 1 500, 20 % tax 300: 1 800 back to the card (March is paid).
    assert note.invoice_id == march.id
    assert note.reason == "other"
    assert note.sub_total_excluding_taxes_amount_cents == 1500
    assert note.taxes_amount_cents == 300
    assert (note.total_amount_cents, note.refund_amount_cents, note.credit_amount_cents) == (
        1800,
        1800,
        0,
    )
    assert (await eventually(lambda: story.refunded(note.id))).refunded_at is not None
    # April: 40 units × 50 = 2 000, 20 % tax 400: a corrective invoice of 2 400, collected.
    assert corrective.invoice_type == "subscription"
    assert corrective.kind == "late_usage_1"
    assert (corrective.period_start, corrective.period_end) == (
        datetime(2026, 4, 1, tzinfo=UTC),
        datetime(2026, 5, 1, tzinfo=UTC),
    )
    assert (corrective.fees_amount_cents, corrective.taxes_amount_cents) == (2000, 400)
    assert corrective.total_amount_cents == 2400
    assert (await eventually(lambda: story.paid(corrective.id))).total_paid_amount_cents == 2400

    # The same events again, one more signal, and the next period close: nothing more.
    await story.send(-30, "2026-03-20", transaction_id="tx-3")
    await story.send(40, "2026-04-25", transaction_id="tx-4")
    await story.send(0, "2026-05-10")
    await billing.advance("2026-06-01T00:00:00Z")
    assert len(await story.notes()) == 1
    assert [i.kind for i in await story.invoices()].count("late_usage_1") == 1
    assert len(await story.reratings()) == 2
    # The finalized invoices never changed.
    again = {i.id: i.total_amount_cents for i in await story.invoices()}
    assert (again[march.id], again[april.id]) == (6000, 600)

    types = [d.payload["webhook_type"] for d in receiver.deliveries]
    assert types.count("credit_note.created") == 1
    created = [
        d.payload["invoice"]["lago_id"]
        for d in receiver.deliveries
        if d.payload["webhook_type"] == "invoice.created"
    ]
    assert created.count(str(corrective.id)) == 1
