"""The alerts reaction, called as the workflow's activity calls it: values as Lago reads
them, alert.triggered once per alert, threshold and period, also under concurrency."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bxb.core.db import transaction
from bxb.events.postgres_store import PostgresEventStore
from bxb.events.store import NewEvent
from bxb.ledger.lifetime_usage import set_historical_usage
from bxb.models import AlertCrossing, Fee, Invoice, TriggeredAlert, UsageAlert, Webhook
from bxb.usage_reactions import alerts as reaction
from tests.support.alerts import (
    PERIOD_END,
    PERIOD_START,
    Setup,
    ok,
    subscription_setup,
    usage_context,
)
from tests.support.auth import Tenant

BASE = "/api/v1/subscriptions/sub_1/alerts"
NOW = PERIOD_START + timedelta(days=10)


class Usage:
    def __init__(self, engine: AsyncEngine, tenant: Tenant) -> None:
        self.store = PostgresEventStore(engine)
        self.tenant = tenant
        self.count = 0

    async def send(self, code: str, n: int = 1, at: datetime = NOW, **properties: Any) -> None:
        events = []
        for _ in range(n):
            self.count += 1
            events.append(
                NewEvent(
                    organization_id=self.tenant.organization_id,
                    transaction_id=f"tx-{self.count}",
                    external_subscription_id="sub_1",
                    code=code,
                    timestamp=at,
                    properties=properties,
                )
            )
        await self.store.insert_many(events)


async def webhooks(sessions: async_sessionmaker[AsyncSession]) -> list[dict[str, Any]]:
    async with sessions() as session:
        rows = await session.scalars(
            select(Webhook)
            .where(Webhook.webhook_type == "alert.triggered")
            .order_by(Webhook.created_at)
        )
        return [row.payload for row in rows]


def crossed(payload: dict[str, Any]) -> list[tuple[str, str]]:
    alert = payload["triggered_alert"]
    return [(alert["alert_code"], t["value"]) for t in alert["crossed_thresholds"]]


async def alerts_for(client: httpx.AsyncClient, tenant: Tenant, *alerts: dict[str, Any]) -> None:
    await ok(client, tenant, "POST", BASE, {"alerts": list(alerts)})
    endpoint = {"webhook_url": "http://127.0.0.1:9/alerts", "signature_algo": "hmac"}
    await ok(client, tenant, "POST", "/api/v1/webhook_endpoints", {"webhook_endpoint": endpoint})


async def react(
    sessions: async_sessionmaker[AsyncSession], setup: Setup, usage: Usage, **kw: Any
) -> None:
    context = await usage_context(sessions, setup, now=kw.pop("now", NOW), **kw)
    assert await reaction.react(sessions, usage.store, context) == []


async def test_each_alert_type_reads_lagos_value_and_fires_once(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    tenant_a: Tenant,
) -> None:
    setup = await subscription_setup(client, sessions, tenant_a)
    await alerts_for(
        client,
        tenant_a,
        {"alert_type": "current_usage_amount", "code": "spend", "thresholds": [{"value": 1000}]},
        {
            "alert_type": "billable_metric_current_usage_units",
            "code": "calls",
            "billable_metric_code": "api_calls",
            "thresholds": [{"value": 10, "code": "ten"}, {"value": 5, "recurring": True}],
        },
        {
            "alert_type": "billable_metric_current_usage_amount",
            "code": "storage",
            "billable_metric_code": "storage",
            "thresholds": [{"value": 1000, "code": "ten_dollars"}],
        },
        {"alert_type": "lifetime_usage_amount", "code": "life", "thresholds": [{"value": 5000}]},
    )
    usage = Usage(engine, tenant_a)

    await usage.send("api_calls", 9)  # 9 calls × $0.50 = 450 cents
    await react(sessions, setup, usage)
    assert await webhooks(sessions) == []

    await usage.send("api_calls", 6)  # 15 calls: 750 cents; units cross 10 and 10 + 5
    await react(sessions, setup, usage)
    (first,) = await webhooks(sessions)
    assert crossed(first) == [("calls", "10.0"), ("calls", "15.0")]
    body = first["triggered_alert"]
    assert first["webhook_type"] == "alert.triggered"
    assert first["object_type"] == "triggered_alert"
    assert body["alert_type"] == "billable_metric_current_usage_units"
    assert body["billable_metric_code"] == "api_calls"
    assert (body["previous_value"], body["current_value"]) == ("9.0", "15.0")
    assert body["crossed_thresholds"] == [
        {"code": "ten", "value": "10.0", "recurring": False},
        {"code": None, "value": "15.0", "recurring": True},
    ]
    assert body["external_subscription_id"] == "sub_1"
    assert body["external_customer_id"] == "cus_1"
    assert body["lago_subscription_id"] == str(setup.subscription_id)
    assert body["triggered_at"] == "2026-03-11T00:00:00Z"

    # 3 + 3 GB at $2: 1200 cents of storage; 1950 cents in all.
    await usage.send("storage", gb="3")
    await usage.send("storage", gb="3")
    await react(sessions, setup, usage)
    await react(sessions, setup, usage)  # again: nothing new
    payloads = await webhooks(sessions)
    assert sorted(c for p in payloads[1:] for c in crossed(p)) == [
        ("spend", "1000.0"),
        ("storage", "1000.0"),
    ]
    spend = next(p["triggered_alert"] for p in payloads if crossed(p)[0][0] == "spend")
    assert (spend["previous_value"], spend["current_value"]) == ("750.0", "1950.0")

    # Lifetime: 450 cents of historical usage + 3,100 invoiced before (charge fees of period
    # invoices only: a progressive invoice's 700 are billed again by its period's) + 1,950.
    await invoiced(sessions, setup, charge_cents=3100, base_fee_cents=9900)
    await invoiced(sessions, setup, charge_cents=700, base_fee_cents=0, progressive=True)
    async with transaction(sessions) as session:
        await set_historical_usage(session, setup.tenant.organization_id, "sub_1", 450)
    await react(sessions, setup, usage)
    life = (await webhooks(sessions))[-1]["triggered_alert"]
    assert (life["alert_code"], life["current_value"]) == ("life", "5500.0")

    async with sessions() as session:
        spend_alert = await session.scalar(select(UsageAlert).where(UsageAlert.code == "spend"))
        assert spend_alert is not None
        assert spend_alert.previous_value == Decimal(1950)
        assert spend_alert.last_processed_at == NOW
    shown = (await ok(client, tenant_a, "GET", BASE + "/spend"))["alert"]
    assert (shown["previous_value"], shown["last_processed_at"]) == (
        "1950.0",
        "2026-03-11T00:00:00Z",
    )


async def invoiced(
    sessions: async_sessionmaker[AsyncSession],
    setup: Setup,
    *,
    charge_cents: int,
    base_fee_cents: int,
    progressive: bool = False,
) -> None:
    async with transaction(sessions) as session:
        invoice = Invoice(
            organization_id=setup.tenant.organization_id,
            customer_id=setup.customer_id,
            subscription_id=setup.subscription_id,
            invoice_type="progressive_billing" if progressive else "subscription",
            kind="progressive_billing" if progressive else "period_end",
            status="finalized",
            currency="USD",
            issuing_date=date(2026, 3, 1),
            period_start=PERIOD_START - timedelta(days=28),
            period_end=PERIOD_START,
        )
        for fee_type, cents in (("charge", charge_cents), ("subscription", base_fee_cents)):
            invoice.fees.append(
                Fee(
                    organization_id=setup.tenant.organization_id,
                    subscription_id=setup.subscription_id,
                    fee_type=fee_type,
                    description=fee_type,
                    item_code=fee_type,
                    amount_cents=cents,
                    precise_amount_cents=Decimal(cents),
                    amount_currency="USD",
                )
            )
        session.add(invoice)


async def test_a_new_period_fires_again_and_recurring_thresholds_at_each_multiple(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    tenant_a: Tenant,
) -> None:
    setup = await subscription_setup(client, sessions, tenant_a)
    await alerts_for(
        client,
        tenant_a,
        {
            "alert_type": "current_usage_amount",
            "code": "every_dollar",
            "thresholds": [{"value": 100, "recurring": True, "code": "dollar"}],
        },
    )
    usage = Usage(engine, tenant_a)
    await usage.send("api_calls", 3)  # 150 cents: 100
    await react(sessions, setup, usage)
    await usage.send("api_calls", 3)  # 300 cents: 200, 300
    await react(sessions, setup, usage)
    await react(sessions, setup, usage)
    assert [crossed(p) for p in await webhooks(sessions)] == [
        [("every_dollar", "100.0")],
        [("every_dollar", "200.0"), ("every_dollar", "300.0")],
    ]

    # April: usage starts from zero, the same thresholds fire again once.
    april, may = PERIOD_END, datetime(2026, 5, 1, tzinfo=UTC)
    await usage.send("api_calls", 2, at=april + timedelta(days=1))  # 100 cents
    for _ in range(2):
        await react(
            sessions,
            setup,
            usage,
            period_start=april,
            period_end=may,
            now=april + timedelta(days=2),
        )
    payloads = await webhooks(sessions)
    assert crossed(payloads[-1]) == [("every_dollar", "100.0")]
    assert payloads[-1]["triggered_alert"]["previous_value"] == "0.0"
    assert len(payloads) == 3


async def test_two_concurrent_reactions_send_one_webhook(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    tenant_a: Tenant,
) -> None:
    setup = await subscription_setup(client, sessions, tenant_a)
    await alerts_for(
        client,
        tenant_a,
        {"alert_type": "current_usage_amount", "code": "spend", "thresholds": [{"value": 500}]},
        {
            "alert_type": "billable_metric_current_usage_units",
            "code": "calls",
            "billable_metric_code": "api_calls",
            "thresholds": [{"value": 10}],
        },
    )
    usage = Usage(engine, tenant_a)
    for round_ in range(5):
        # Two batches, each crossing both thresholds on its own, then two reactions at once.
        if round_ == 0:
            await asyncio.gather(usage.send("api_calls", 10), usage.send("api_calls", 10))
        contexts = [await usage_context(sessions, setup, now=NOW) for _ in range(2)]
        await asyncio.gather(*(reaction.react(sessions, usage.store, c) for c in contexts))
    payloads = await webhooks(sessions)
    assert sorted(c for p in payloads for c in crossed(p)) == [
        ("calls", "10.0"),
        ("spend", "500.0"),
    ]
    async with sessions() as session:
        assert len((await session.scalars(select(TriggeredAlert))).all()) == 2
        assert len((await session.scalars(select(AlertCrossing))).all()) == 2


async def test_the_crossing_key_holds_even_when_the_previous_value_is_lost(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    tenant_a: Tenant,
) -> None:
    """The unique crossing is the last guard: a reading that believes it starts from zero
    (as a reading racing the first one would) still fires nothing already fired."""
    setup = await subscription_setup(client, sessions, tenant_a)
    await alerts_for(
        client,
        tenant_a,
        {"alert_type": "current_usage_amount", "code": "spend", "thresholds": [{"value": 500}]},
    )
    usage = Usage(engine, tenant_a)
    await usage.send("api_calls", 12)
    await react(sessions, setup, usage)
    async with transaction(sessions) as session:
        alert = await session.scalar(select(UsageAlert))
        assert alert is not None
        alert.previous_value, alert.reading_key = Decimal(0), None
    await react(sessions, setup, usage)
    assert len(await webhooks(sessions)) == 1
    async with sessions() as session:
        assert len((await session.scalars(select(TriggeredAlert))).all()) == 1


async def test_no_alerts_costs_one_lookup_and_an_unknown_metric_waits(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    tenant_a: Tenant,
) -> None:
    setup = await subscription_setup(client, sessions, tenant_a)
    usage = Usage(engine, tenant_a)
    await usage.send("api_calls", 30)
    await react(sessions, setup, usage)  # no alert at all
    other = {"name": "other", "code": "other", "aggregation_type": "count_agg"}
    await ok(client, tenant_a, "POST", "/api/v1/billable_metrics", {"billable_metric": other})
    await alerts_for(
        client,
        tenant_a,
        {
            "alert_type": "billable_metric_current_usage_units",
            "code": "other",
            "billable_metric_code": "other",
            "thresholds": [{"value": 1}],
        },
    )
    await usage.send("other", 5)
    await react(sessions, setup, usage)
    assert await webhooks(sessions) == []
    async with sessions() as session:
        alert = await session.scalar(select(UsageAlert))
        assert alert is not None
        assert alert.last_processed_at is None
