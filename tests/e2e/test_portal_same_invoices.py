"""A plan change and a cancellation from the portal bill the same invoices, to the cent,
as the same actions through /api/v1 (real Temporal, one test clock, two customers)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bxb.models import Customer, Invoice
from tests.support.auth import Tenant
from tests.support.portal import bearer, portal_token
from tests.support.subscriptions import SubscriptionApi

pytestmark = pytest.mark.slow


async def _two_customers(api: SubscriptionApi, plan: str = "basic") -> None:
    """cus_p (portal) and cus_q (API) on one clock at Jan 1 2026, each on `plan`; `basic`
    is $31 a month in arrears, `pro` $62, calls at $0.50 on both."""
    await api.customer_on_clock("2026-01-01T00:00:00Z", external_id="cus_p")
    body = {"external_id": "cus_q", "test_clock_id": api.clock}
    await api.ok("POST", "/api/v1/customers", {"customer": body})
    metric = await api.ok(
        "POST",
        "/api/v1/billable_metrics",
        {"billable_metric": {"name": "Calls", "code": "calls", "aggregation_type": "count_agg"}},
    )
    charge = {
        "billable_metric_id": metric["billable_metric"]["lago_id"],
        "charge_model": "standard",
        "properties": {"amount": "0.5"},
    }
    await api.plan("basic", amount_cents=3100, charges=[charge])
    await api.plan("pro", amount_cents=6200, charges=[charge])
    for customer, sub in (("cus_p", "sub_p"), ("cus_q", "sub_q")):
        body = {"external_customer_id": customer, "plan_code": plan, "external_id": sub}
        await api.ok("POST", "/api/v1/subscriptions", {"subscription": body})


async def _bills(sessions: async_sessionmaker[AsyncSession], external_id: str) -> list[Any]:
    async with sessions() as session:
        invoices = await session.scalars(
            select(Invoice)
            .join(Customer, Customer.id == Invoice.customer_id)
            .where(Customer.external_id == external_id)
            .options(selectinload(Invoice.fees))
            .order_by(Invoice.issuing_date, Invoice.created_at)
        )
        return [
            (
                i.invoice_type,
                i.status,
                i.issuing_date.isoformat(),
                i.fees_amount_cents,
                i.taxes_amount_cents,
                i.total_amount_cents,
                sorted((f.fee_type, f.amount_cents, f.units) for f in i.fees),
            )
            for i in invoices
        ]


async def test_portal_plan_change_and_cancellation_bill_as_the_api(
    temporal_client: httpx.AsyncClient,
    worker: str,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    api = SubscriptionApi(temporal_client, tenant_a)
    await _two_customers(api)
    token = await portal_token(temporal_client, tenant_a, "cus_p")
    portal = bearer(token)
    for sub, prefix in (("sub_p", "p"), ("sub_q", "q")):
        await send_events_for(api, sub, prefix)
    assert (await api.advance("2026-01-10T12:00:00Z")).status_code == 200

    # Upgrade on Jan 10: from the portal, and through /api/v1.
    response = await temporal_client.post(
        "/api/v1/portal/subscriptions/sub_p/plan_change",
        json={"subscription": {"plan_code": "pro"}},
        headers=portal,
    )
    assert response.status_code == 200, response.text
    shown = response.json()["subscription"]
    assert (shown["plan"]["code"], shown["previous_plan_code"]) == ("pro", "basic")
    body = {"external_customer_id": "cus_q", "plan_code": "pro", "external_id": "sub_q"}
    await api.ok("POST", "/api/v1/subscriptions", {"subscription": body})

    # Cancel at the period's end: the portal's button, and PUT ending_at.
    response = await temporal_client.post(
        "/api/v1/portal/subscriptions/sub_p/cancel", headers=portal
    )
    assert response.status_code == 200, response.text
    assert response.json()["subscription"]["ending_at"] == "2026-02-01T00:00:00Z"
    await api.ok(
        "PUT",
        "/api/v1/subscriptions/sub_q",
        {"subscription": {"ending_at": "2026-02-01T00:00:00Z"}},
    )
    assert (await api.advance("2026-02-15T00:00:00Z")).status_code == 200

    portal_bills = await _bills(sessions, "cus_p")
    assert portal_bills == await _bills(sessions, "cus_q")
    # By hand: on Jan 10, basic for Jan 1-9 (9/31 of $31 = $9) and the 10 calls ($5);
    # on Feb 1, pro for Jan 10-31 (22/31 of $62 = $44); then nothing (terminated).
    assert [(b[0], b[3], b[5]) for b in portal_bills] == [
        ("subscription", 900 + 500, 1400),
        ("subscription", 4400, 4400),
    ]
    for external_id in ("sub_p", "sub_q"):
        assert (await api.subscription(external_id))["status"] == "terminated"


async def send_events_for(api: SubscriptionApi, sub: str, prefix: str) -> None:
    """Ten calls on Jan 5 for `sub`."""
    stamp = int(datetime.fromisoformat("2026-01-05T09:00:00+00:00").timestamp())
    for n in range(10):
        event = {
            "transaction_id": f"{prefix}{n}",
            "external_subscription_id": sub,
            "code": "calls",
            "timestamp": stamp,
        }
        await api.ok("POST", "/api/v1/events", {"event": event})


async def test_a_portal_downgrade_bills_as_the_api(
    temporal_client: httpx.AsyncClient,
    worker: str,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    api = SubscriptionApi(temporal_client, tenant_a)
    await _two_customers(api, plan="pro")
    portal = bearer(await portal_token(temporal_client, tenant_a, "cus_p"))
    for sub, prefix in (("sub_p", "p"), ("sub_q", "q")):
        await send_events_for(api, sub, prefix)
    assert (await api.advance("2026-01-10T12:00:00Z")).status_code == 200

    response = await temporal_client.post(
        "/api/v1/portal/subscriptions/sub_p/plan_change",
        json={"subscription": {"plan_code": "basic"}},
        headers=portal,
    )
    assert response.status_code == 200, response.text
    shown = response.json()["subscription"]
    # A downgrade waits for the period's end.
    assert (shown["plan"]["code"], shown["next_plan_code"]) == ("pro", "basic")
    assert shown["downgrade_plan_date"] == "2026-02-01"
    body = {"external_customer_id": "cus_q", "plan_code": "basic", "external_id": "sub_q"}
    await api.ok("POST", "/api/v1/subscriptions", {"subscription": body})
    assert (await api.advance("2026-03-01T12:00:00Z")).status_code == 200

    portal_bills = await _bills(sessions, "cus_p")
    assert portal_bills == await _bills(sessions, "cus_q")
    # By hand: Feb 1, pro for January ($62) and the 10 calls ($5); Mar 1, basic for February.
    assert [(b[0], b[3]) for b in portal_bills] == [("subscription", 6700), ("subscription", 3100)]
    assert (await api.subscription("sub_p"))["plan_code"] == "basic"
