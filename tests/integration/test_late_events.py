"""Late events re-rate periods already invoiced (the reaction, called directly).

The periods are billed by the period close's own activity code
(`SubscriptionActivities.record`); late events are stored in the real PostgreSQL event
store; the reaction is called as the usage activity would call it.

Plan: one standard charge at $0.50 per unit of a sum metric; the organization's 20 % tax;
a 10 % coupon (forever) on the customer. A period with U units is billed
U × 50 cents, less 10 %, plus 20 % of what is left.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bxb.activities.subscriptions import SubscriptionActivities
from bxb.core.db import transaction
from bxb.core.subscriptions import plan_snapshot
from bxb.events.postgres_store import PostgresEventStore
from bxb.events.store import NewEvent, StoredEvent
from bxb.models import (
    CreditNote,
    Customer,
    Invoice,
    LateEventRerating,
    Organization,
    Plan,
    Webhook,
)
from bxb.usage_reactions.context import UsageContext
from bxb.usage_reactions.late_events import LATE_EVENTS, react
from bxb.workflows.billing_requests import BillingRequest, SubscriptionRow, UsageWindow
from bxb.workflows.state import PlanSnapshot
from tests.support.auth import Tenant

JAN, FEB, MAR = (datetime(2026, month, 1, tzinfo=UTC) for month in (1, 2, 3))
SEGMENT = uuid.uuid4()


async def ok(client: httpx.AsyncClient, tenant: Tenant, path: str, body: Any) -> dict[str, Any]:
    response = await client.post(f"/api/v1/{path}", json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def catalog(client: httpx.AsyncClient, tenant: Tenant) -> None:
    endpoint = {"webhook_url": "http://127.0.0.1:9/hooks", "signature_algo": "hmac"}
    await ok(client, tenant, "webhook_endpoints", {"webhook_endpoint": endpoint})
    metric = {"name": "Calls", "code": "calls", "aggregation_type": "sum_agg", "field_name": "n"}
    created = await ok(client, tenant, "billable_metrics", {"billable_metric": metric})
    metric_id = created["billable_metric"]["lago_id"]
    tax = {"name": "VAT", "code": "vat", "rate": "20", "applied_to_organization": True}
    await ok(client, tenant, "taxes", {"tax": tax})
    plan = {
        "name": "Usage",
        "code": "usage",
        "interval": "monthly",
        "amount_cents": 0,
        "amount_currency": "EUR",
        "charges": [
            {
                "billable_metric_id": metric_id,
                "charge_model": "standard",
                "properties": {"amount": "0.50"},
            }
        ],
    }
    await ok(client, tenant, "plans", {"plan": plan})
    customer = {"external_id": "cus_1", "currency": "EUR"}
    await ok(client, tenant, "customers", {"customer": customer})
    coupon = {
        "name": "Ten",
        "code": "ten",
        "coupon_type": "percentage",
        "percentage_rate": "10",
        "frequency": "forever",
        "expiration": "no_expiration",
    }
    await ok(client, tenant, "coupons", {"coupon": coupon})
    applied = {"external_customer_id": "cus_1", "coupon_code": "ten"}
    await ok(client, tenant, "applied_coupons", {"applied_coupon": applied})


class Story:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine, tenant: Tenant
    ) -> None:
        self.sessions = sessions
        self.events = PostgresEventStore(engine)
        self.tenant = tenant
        self.plan: PlanSnapshot | None = None
        self.customer_id = uuid.uuid4()
        self.sent = 0

    async def load(self) -> None:
        async with self.sessions() as session:
            plan = await session.scalar(
                select(Plan)
                .where(Plan.organization_id == self.tenant.organization_id)
                .options(selectinload(Plan.charges))
            )
            assert plan is not None
            self.plan = plan_snapshot(plan)
            customer_id = await session.scalar(
                select(Customer.id).where(Customer.organization_id == self.tenant.organization_id)
            )
            assert customer_id is not None
            self.customer_id = customer_id

    async def send(self, n: int, at: datetime) -> None:
        self.sent += 1
        event = NewEvent(
            self.tenant.organization_id, f"tx-{self.sent}", "sub_1", "calls", at, {"n": n}
        )
        await self.events.insert_many([event])

    def row(self, start: datetime, end: datetime) -> SubscriptionRow:
        assert self.plan is not None
        return SubscriptionRow(
            lago_id=SEGMENT,
            organization_id=self.tenant.organization_id,
            customer_id=self.customer_id,
            external_customer_id="cus_1",
            external_id="sub_1",
            plan_id=self.plan.id,
            plan_code=self.plan.code,
            plan_amount_cents=0,
            plan_amount_currency="EUR",
            name=None,
            status="active",
            billing_time="calendar",
            subscription_at=JAN,
            started_at=JAN,
            current_billing_period_started_at=start,
            current_billing_period_ending_at=end,
            workflow_id="subscription-sub_1",
        )

    async def close_period(self, start: datetime, end: datetime) -> uuid.UUID:
        """Bill [start, end) in arrears as the period close does; the invoice's id."""
        assert self.plan is not None
        request = BillingRequest(
            kind="period_end",
            at=end,
            organization_id=self.tenant.organization_id,
            customer_id=self.customer_id,
            external_customer_id="cus_1",
            external_id="sub_1",
            timezone="UTC",
            currency="EUR",
            invoice_segment_id=SEGMENT,
            invoice_period_start=start,
            invoice_period_end=end,
            usage=[
                UsageWindow(
                    segment_id=SEGMENT, plan=self.plan, from_datetime=start, to_datetime=end
                )
            ],
            rows=[self.row(end, end)],
        )
        result = await SubscriptionActivities(self.sessions, self.events).record(request)
        assert result.invoice_id is not None
        assert result.invoice_status == "finalized"
        return result.invoice_id

    def context(self, now: datetime) -> UsageContext:
        assert self.plan is not None
        return UsageContext(
            organization_id=self.tenant.organization_id,
            customer_id=self.customer_id,
            external_customer_id="cus_1",
            external_id="sub_1",
            subscription_id=SEGMENT,
            timezone="UTC",
            currency="EUR",
            plan=self.plan,
            period_start=MAR,
            period_end=datetime(2026, 4, 1, tzinfo=UTC),
            usage_from=MAR,
            now=now,
        )

    async def react(self, now: datetime) -> list[uuid.UUID]:
        results = await react(self.sessions, self.events, self.context(now))
        return [r.invoice_id for r in results if r.invoice_id is not None]

    async def invoice(self, invoice_id: uuid.UUID) -> Invoice:
        async with self.sessions() as session:
            row = await session.get(Invoice, invoice_id)
            assert row is not None
            return row

    async def count(self, model: Any) -> int:
        async with self.sessions() as session:
            return int(
                await session.scalar(
                    select(func.count()).where(model.organization_id == self.tenant.organization_id)
                )
                or 0
            )

    async def notes(self) -> list[CreditNote]:
        async with self.sessions() as session:
            found = await session.scalars(
                select(CreditNote)
                .where(CreditNote.organization_id == self.tenant.organization_id)
                .order_by(CreditNote.created_at)
            )
            return list(found)

    async def correctives(self) -> list[Invoice]:
        async with self.sessions() as session:
            found = await session.scalars(
                select(Invoice)
                .where(
                    Invoice.organization_id == self.tenant.organization_id,
                    Invoice.kind.like("late_usage_%"),
                )
                .order_by(Invoice.created_at)
            )
            return list(found)


async def story(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    tenant: Tenant,
) -> tuple[Story, uuid.UUID, uuid.UUID]:
    await catalog(client, tenant)
    s = Story(sessions, engine, tenant)
    await s.load()
    await s.send(100, datetime(2026, 1, 10, tzinfo=UTC))
    january = await s.close_period(JAN, FEB)
    await s.send(10, datetime(2026, 2, 10, tzinfo=UTC))
    february = await s.close_period(FEB, MAR)
    return s, january, february


async def test_late_events_give_one_credit_note_and_one_corrective_invoice_once(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    tenant_a: Tenant,
) -> None:
    s, january, february = await story(client, sessions, engine, tenant_a)
    jan = await s.invoice(january)
    # 100 units × 50 = 5 000; 10 % coupon 500; 20 % of 4 500 = 900.
    assert (jan.fees_amount_cents, jan.coupons_amount_cents, jan.taxes_amount_cents) == (
        5000,
        500,
        900,
    )
    assert jan.total_amount_cents == 5400
    feb = await s.invoice(february)
    assert feb.total_amount_cents == 500 - 50 + 90  # 540
    now = datetime(2026, 3, 5, tzinfo=UTC)
    assert await s.react(now) == []  # nothing late yet: nothing happens
    # An event dated before the subscription started falls in no invoiced period.
    await s.send(7, datetime(2025, 12, 20, tzinfo=UTC))
    assert await s.react(now) == []
    assert await s.count(LateEventRerating) == 0

    # January gets a correction of -30 units; February 40 more units.
    await s.send(-30, datetime(2026, 1, 20, tzinfo=UTC))
    await s.send(40, datetime(2026, 2, 27, 23, 59, tzinfo=UTC))
    corrective_ids = await s.react(now)

    (note,) = await s.notes()
    assert note.invoice_id == january
    assert note.reason == "other"
    # 30 units × 50 = 1 500 credited; its coupon share 1 500 × 500 / 5 000 = 150;
    # taxes 20 % of 1 350 = 270; total 1 620, all credit (the invoice is not paid).
    assert note.sub_total_excluding_taxes_amount_cents == 1350
    assert note.coupons_adjustment_amount_cents == 150
    assert note.taxes_amount_cents == 270
    assert (note.total_amount_cents, note.credit_amount_cents, note.refund_amount_cents) == (
        1620,
        1620,
        0,
    )
    (corrective,) = await s.correctives()
    assert corrective_ids == [corrective.id]
    assert corrective.invoice_type == "subscription"
    assert corrective.kind == "late_usage_1"
    assert corrective.status == "finalized"
    assert (corrective.period_start, corrective.period_end) == (FEB, MAR)
    # 40 units × 50 = 2 000; coupon at February's rate (50 / 500): 200; tax 20 % of
    # 1 800 = 360; 2 160, of which January's credit note pays 1 620 (Lago's order).
    assert corrective.fees_amount_cents == 2000
    assert corrective.coupons_amount_cents == 200
    assert corrective.taxes_amount_cents == 360
    assert corrective.credit_notes_amount_cents == 1620
    assert corrective.total_amount_cents == 540
    assert [f.units for f in corrective.fees] == [Decimal(40)]
    assert [t["tax_code"] for t in corrective.applied_taxes] == ["vat"]
    assert (await s.notes())[0].credit_status == "consumed"
    # Both read back in Lago's shapes.
    answer = await client.get(f"/api/v1/invoices/{corrective.id}", headers=tenant_a.headers)
    assert answer.status_code == 200, answer.text
    shown = answer.json()["invoice"]
    assert (shown["invoice_type"], shown["total_amount_cents"]) == ("subscription", 540)
    assert shown["metadata"][0]["key"] == "corrects_invoice"
    assert shown["metadata"][0]["value"] == feb.number
    assert [fee["amount_cents"] for fee in shown["fees"]] == [2000]
    answer = await client.get(f"/api/v1/credit_notes/{note.id}", headers=tenant_a.headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["credit_note"]["total_amount_cents"] == 1620
    # The finalized invoices are untouched.
    assert (await s.invoice(january)).total_amount_cents == 5400
    assert (await s.invoice(february)).total_amount_cents == 540

    # A repeated signal changes nothing (the same now still reports the corrective
    # invoice, for a retried activity; the workflow follows an invoice once).
    assert await s.react(now) == [corrective.id]
    assert await s.react(datetime(2026, 3, 6, tzinfo=UTC)) == []
    assert len(await s.notes()) == 1
    assert len(await s.correctives()) == 1
    assert await s.count(LateEventRerating) == 2

    async with sessions() as session:
        kinds = list(
            await session.scalars(
                select(Webhook.webhook_type).where(
                    Webhook.organization_id == tenant_a.organization_id
                )
            )
        )
    assert kinds.count("credit_note.created") == 1
    assert kinds.count("invoice.created") == 3  # January, February, the correction

    # Another late event in January re-rates it again: 80 units now, 70 billed so far.
    await s.send(10, datetime(2026, 1, 31, tzinfo=UTC))
    later = datetime(2026, 3, 7, tzinfo=UTC)
    (second_id,) = await s.react(later)
    second = await s.invoice(second_id)
    assert second.kind == "late_usage_2"
    # 10 × 50 = 500; coupon 500 × 500 / 5 000 = 50; tax 20 % of 450 = 90.
    assert (second.fees_amount_cents, second.coupons_amount_cents) == (500, 50)
    assert (second.taxes_amount_cents, second.total_amount_cents) == (90, 540)
    assert await s.react(later) == [second_id]
    assert len(await s.correctives()) == 2


async def test_a_paid_invoice_is_refunded(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    tenant_a: Tenant,
) -> None:
    s, january, _ = await story(client, sessions, engine, tenant_a)
    async with transaction(sessions) as session:
        jan = await session.get(Invoice, january)
        assert jan is not None
        jan.payment_status, jan.total_paid_amount_cents = "succeeded", 5400
    await s.send(-30, datetime(2026, 1, 20, tzinfo=UTC))
    assert await s.react(datetime(2026, 3, 5, tzinfo=UTC)) == []
    (note,) = await s.notes()
    assert (note.total_amount_cents, note.credit_amount_cents, note.refund_amount_cents) == (
        1620,
        0,
        1620,
    )
    assert note.refund_status == "pending"


async def test_the_setting_off_stores_late_events_and_ignores_them(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    tenant_a: Tenant,
) -> None:
    s, _, _ = await story(client, sessions, engine, tenant_a)
    config = {"billing_configuration": {"late_events_rerating": False}}
    response = await client.put(
        "/api/v1/organizations", json={"organization": config}, headers=tenant_a.headers
    )
    assert response.status_code == 200
    assert response.json()["organization"]["billing_configuration"]["late_events_rerating"] is False
    async with sessions() as session:
        org = await session.get(Organization, tenant_a.organization_id)
        assert org is not None
        assert org.late_events_rerating is False
    await s.send(-30, datetime(2026, 1, 20, tzinfo=UTC))
    await s.send(40, datetime(2026, 2, 20, tzinfo=UTC))
    assert await s.react(datetime(2026, 3, 5, tzinfo=UTC)) == []
    assert await s.notes() == []
    assert await s.correctives() == []
    assert await s.count(LateEventRerating) == 0


async def test_the_setting_is_on_by_default_and_shown(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    response = await client.get("/api/v1/organizations", headers=tenant_a.headers)
    assert response.json()["organization"]["billing_configuration"]["late_events_rerating"] is True
    bad = {"billing_configuration": {"late_events_rerating": "sometimes"}}
    response = await client.put(
        "/api/v1/organizations", json={"organization": bad}, headers=tenant_a.headers
    )
    assert response.status_code == 422


async def test_the_watcher_signals_events_dated_before_the_current_period(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    tenant_a: Tenant,
) -> None:
    await story(client, sessions, engine, tenant_a)
    key = (tenant_a.organization_id, "sub_1")

    async def tests() -> dict[Any, Any]:
        async with engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            return await LATE_EVENTS.load(raw, [key, (tenant_a.organization_id, "other")])

    found = await tests()
    assert list(found) == [key]  # the mirror row's current period starts on Mar 1

    def event(at: datetime) -> StoredEvent:
        return StoredEvent(
            uuid.uuid4(), key[0], "tx", "sub_1", "calls", at, {}, None, datetime.now(UTC)
        )

    assert found[key](event(datetime(2026, 2, 28, 23, 59, tzinfo=UTC)))
    assert not found[key](event(MAR))
    async with transaction(sessions) as session:
        org = await session.get(Organization, tenant_a.organization_id)
        assert org is not None
        org.late_events_rerating = False
    assert await tests() == {}


async def test_concurrent_runs_rerate_once(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    tenant_a: Tenant,
) -> None:
    s, _, _ = await story(client, sessions, engine, tenant_a)
    await s.send(-30, datetime(2026, 1, 20, tzinfo=UTC))
    await s.send(40, datetime(2026, 2, 20, tzinfo=UTC))
    now = datetime(2026, 3, 5, tzinfo=UTC)
    results = await asyncio.gather(*(s.react(now) for _ in range(4)))
    (corrective,) = await s.correctives()
    # Each run reports the corrective invoice made at this `now` (the workflow follows
    # it once); one credit note, one invoice, two re-ratings in all.
    assert all(found in ([], [corrective.id]) for found in results)
    assert [corrective.id] in results
    assert len(await s.notes()) == 1
    assert await s.count(LateEventRerating) == 2
