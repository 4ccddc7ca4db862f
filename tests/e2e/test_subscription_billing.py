"""Period invoices with taxes and coupons; yearly plans billing usage monthly; a stuck advance."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bxb.core.settings import Settings
from bxb.models import AppliedCoupon, Invoice
from tests.conftest import app_client
from tests.support.auth import Tenant

pytestmark = pytest.mark.slow


class Api:
    def __init__(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        self.client = client
        self.headers = tenant.headers
        self.clock = ""

    async def ok(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        response = await self.client.request(method, path, json=body, headers=self.headers)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def customer_on_clock(self, frozen: str, **customer: Any) -> None:
        clock = await self.ok(
            "POST", "/api/v1/test_clocks", {"test_clock": {"name": "c", "frozen_time": frozen}}
        )
        self.clock = clock["test_clock"]["lago_id"]
        body = {"external_id": "cus_1", "test_clock_id": self.clock, **customer}
        await self.ok("POST", "/api/v1/customers", {"customer": body})

    async def advance(self, to: str) -> httpx.Response:
        return await self.client.post(
            f"/api/v1/test_clocks/{self.clock}/advance",
            json={"test_clock": {"frozen_time": to}},
            headers=self.headers,
        )

    async def subscribe(self, plan_code: str) -> None:
        body = {"external_customer_id": "cus_1", "plan_code": plan_code, "external_id": "sub_1"}
        await self.ok("POST", "/api/v1/subscriptions", {"subscription": body})


async def _invoices(sessions: async_sessionmaker[AsyncSession]) -> list[Invoice]:
    async with sessions() as session:
        return list(await session.scalars(select(Invoice).order_by(Invoice.sequential_id)))


async def test_coupon_then_tax_on_each_period(
    temporal_client: httpx.AsyncClient,
    worker: str,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    api = Api(temporal_client, tenant_a)
    await api.ok("POST", "/api/v1/taxes", {"tax": {"name": "VAT", "code": "vat", "rate": "20"}})
    await api.customer_on_clock("2026-01-01T00:00:00Z", tax_codes=["vat"])
    plan = {
        "name": "Basic",
        "code": "basic",
        "interval": "monthly",
        "amount_cents": 3100,
        "amount_currency": "USD",
    }
    await api.ok("POST", "/api/v1/plans", {"plan": plan})
    coupon = {
        "name": "Welcome",
        "code": "welcome",
        "coupon_type": "fixed_amount",
        "amount_cents": 500,
        "amount_currency": "USD",
        "frequency": "once",
        "expiration": "no_expiration",
    }
    await api.ok("POST", "/api/v1/coupons", {"coupon": coupon})
    await api.ok(
        "POST",
        "/api/v1/applied_coupons",
        {"applied_coupon": {"external_customer_id": "cus_1", "coupon_code": "welcome"}},
    )
    await api.subscribe("basic")
    assert (await api.advance("2026-03-01T00:00:00Z")).status_code == 200
    january, february = await _invoices(sessions)
    # January: $31.00 − $5.00 coupon = $26.00, VAT 20 % = $5.20, total $31.20.
    assert (
        january.fees_amount_cents,
        january.coupons_amount_cents,
        january.taxes_amount_cents,
        january.total_amount_cents,
    ) == (3100, 500, 520, 3120)
    assert january.applied_taxes == [
        {"tax_code": "vat", "tax_name": "VAT", "tax_rate": 20.0, "amount_cents": 520}
    ]
    # February: the coupon was used up; $31.00 + 20 % = $37.20.
    assert (february.coupons_amount_cents, february.total_amount_cents) == (0, 3720)
    async with sessions() as session:
        applied = await session.scalar(select(AppliedCoupon))
    assert applied is not None
    assert (applied.status, applied.amount_cents_remaining) == ("terminated", 0)
    shown = await api.ok("GET", f"/api/v1/invoices/{january.id}")
    [credit] = shown["invoice"]["credits"]
    assert (credit["amount_cents"], credit["before_taxes"]) == (500, True)
    assert (credit["item"]["type"], credit["item"]["code"]) == ("coupon", "welcome")
    # Voiding January gives the coupon back its $5.00 (Lago's recredit): March uses it.
    await api.ok("POST", f"/api/v1/invoices/{january.id}/void")
    async with sessions() as session:
        applied = await session.scalar(select(AppliedCoupon))
    assert applied is not None
    assert (applied.status, applied.amount_cents_remaining) == ("active", 500)
    assert (await api.advance("2026-04-01T00:00:00Z")).status_code == 200
    march = (await _invoices(sessions))[-1]
    assert (march.coupons_amount_cents, march.total_amount_cents) == (500, 3120)


async def test_yearly_plan_bills_usage_monthly(
    temporal_client: httpx.AsyncClient,
    worker: str,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    api = Api(temporal_client, tenant_a)
    await api.customer_on_clock("2026-01-01T00:00:00Z")
    metric = await api.ok(
        "POST",
        "/api/v1/billable_metrics",
        {"billable_metric": {"name": "Logins", "code": "logins", "aggregation_type": "count_agg"}},
    )
    plan = {
        "name": "Annual",
        "code": "annual",
        "interval": "yearly",
        "amount_cents": 12000,
        "amount_currency": "USD",
        "pay_in_advance": True,
        "bill_charges_monthly": True,
        "charges": [
            {
                "billable_metric_id": metric["billable_metric"]["lago_id"],
                "charge_model": "standard",
                "properties": {"amount": "1"},
            }
        ],
    }
    await api.ok("POST", "/api/v1/plans", {"plan": plan})
    await api.subscribe("annual")
    for n, day in enumerate(["2026-01-15", "2026-01-16", "2026-02-10", "2026-02-11", "2026-02-12"]):
        event = {
            "transaction_id": f"login_{n}",
            "external_subscription_id": "sub_1",
            "code": "logins",
            "timestamp": int(datetime.fromisoformat(f"{day}T09:00:00+00:00").timestamp()),
        }
        await api.ok("POST", "/api/v1/events", {"event": event})
    assert (await api.advance("2026-03-01T00:00:00Z")).status_code == 200
    invoices = await _invoices(sessions)
    # The year in advance at the start; then January's 2 logins and February's 3, $1 each,
    # each on its own monthly usage invoice.
    assert [(i.kind, i.total_amount_cents) for i in invoices] == [
        ("start", 12000),
        ("usage", 200),
        ("usage", 300),
    ]
    sub = (await api.ok("GET", "/api/v1/subscriptions/sub_1"))["subscription"]
    assert sub["current_billing_period_ending_at"] == "2027-01-01T00:00:00Z"


async def test_an_advance_that_cannot_finish_names_the_subscription(
    temporal_settings: Settings,
    temporal_client: httpx.AsyncClient,
    worker: str,
    tenant_a: Tenant,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    from bxb.api.app import create_app

    settings = temporal_settings.model_copy(update={"test_clock_advance_timeout": 4.0})
    async for client in app_client(create_app(settings)):
        api = Api(client, tenant_a)
        await api.customer_on_clock("2026-01-01T00:00:00Z")
        plan = {
            "name": "Basic",
            "code": "basic",
            "interval": "monthly",
            "amount_cents": 3100,
            "amount_currency": "USD",
        }
        await api.ok("POST", "/api/v1/plans", {"plan": plan})
        await api.subscribe("basic")
        # The ledger refuses invoices: closing January cannot succeed.
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'ledger is read-only'; END $$"
                )
            )
            await conn.execute(
                text("CREATE TRIGGER refuse BEFORE INSERT ON invoices EXECUTE FUNCTION refuse()")
            )
        try:
            stuck = await api.advance("2026-02-01T00:00:00Z")
            assert stuck.status_code == 422
            body = stuck.json()
            assert body["code"] == "test_clock_advance_failed"
            reason = body["error_details"]["subscriptions"]["sub_1"]
            assert reason.startswith("close_period failed:")
            assert "ledger is read-only" in reason
            clock = await api.ok("GET", f"/api/v1/test_clocks/{api.clock}")
            assert (clock["test_clock"]["status"], clock["test_clock"]["frozen_time"]) == (
                "failed",
                "2026-01-01T00:00:00Z",
            )
        finally:
            async with engine.begin() as conn:
                await conn.execute(text("DROP TRIGGER refuse ON invoices"))
                await conn.execute(text("DROP FUNCTION refuse()"))
        # Once the ledger accepts again, the same advance completes (the workflow retries on
        # its own backoff, so allow the default wait) and bills exactly once.
        api.client = temporal_client
        assert (await api.advance("2026-02-01T00:00:00Z")).status_code == 200
        assert [i.total_amount_cents for i in await _invoices(sessions)] == [3100]
