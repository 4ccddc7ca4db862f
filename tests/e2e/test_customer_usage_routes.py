"""Lago's projected and past usage through the unmodified lago-python-client, on real
Temporal with a test clock: amounts computed by hand, and organization isolation."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import httpx
import pytest
from lago_python_client.client import Client
from lago_python_client.exceptions import LagoApiError

from tests.support.auth import Tenant
from tests.support.lago_schema import lago_errors
from tests.support.subscriptions import SubscriptionApi

pytestmark = pytest.mark.slow


def _schema_errors(name: str, answer: Any) -> list[str]:
    """Lago's schema, but for two places where Lago's own server disagrees with it: it
    sends no `groups` in projected charges, and a null `invoice_display_name` for a charge
    without one (bxb answers as the server does)."""
    return [
        error
        for error in lago_errors(name, answer)
        if '"groups" is a required property' not in error
        and not ("invoice_display_name" in error and error.endswith('null is not of type "string"'))
    ]


async def call(function: Any, *args: Any, **kwargs: Any) -> Any:
    """The client is synchronous; the server runs on this event loop."""
    return await asyncio.to_thread(function, *args, **kwargs)


async def send_events(api: SubscriptionApi, count: int, at: str, prefix: str) -> None:
    stamp = int(datetime.fromisoformat(at).timestamp())
    for n in range(count):
        event = {
            "transaction_id": f"{prefix}{n}",
            "external_subscription_id": "sub_1",
            "code": "calls",
            "timestamp": stamp,
        }
        await api.ok("POST", "/api/v1/events", {"event": event})


async def usage_setup(api: SubscriptionApi) -> None:
    """cus_1 (VAT 20 %) on a clock at Jan 1 2026, sub_1 on `basic` ($31 a month, calls at
    $0.50)."""
    await api.ok("POST", "/api/v1/taxes", {"tax": {"name": "VAT", "code": "vat", "rate": "20"}})
    await api.customer_on_clock("2026-01-01T00:00:00Z", tax_codes=["vat"])
    body = {"name": "Calls", "code": "calls", "aggregation_type": "count_agg"}
    metric = await api.ok("POST", "/api/v1/billable_metrics", {"billable_metric": body})
    charge = {
        "billable_metric_id": metric["billable_metric"]["lago_id"],
        "charge_model": "standard",
        "properties": {"amount": "0.5"},
    }
    await api.plan(amount_cents=3100, charges=[charge])
    assert (await api.subscribe(billing_time="calendar")).status_code == 200


async def test_projected_and_past_usage_through_the_lago_client(
    live_api: str, worker: str, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    lago = Client(api_key=tenant_a.api_key, api_url=live_api)
    other = Client(api_key=tenant_b.api_key, api_url=live_api)
    async with httpx.AsyncClient(base_url=live_api, timeout=30) as http:
        api = SubscriptionApi(http, tenant_a)
        await usage_setup(api)
        await send_events(api, 20, "2026-01-05T09:00:00+00:00", "jan")
        assert (await api.advance("2026-01-10T12:00:00Z")).status_code == 200

        # Jan 10 12:00: ten days of 31 started; 20 calls now, 20 x 31/10 = 62 by Jan 31.
        projected = await call(lago.customers.projected_usage, "cus_1", "sub_1")
        assert (projected.amount_cents, projected.projected_amount_cents) == (1000, 3100)
        assert projected.to_datetime == "2026-01-31T23:59:59Z"
        (charge,) = projected.charges_usage
        assert (charge.units, charge.projected_units) == ("20", "62")
        assert (charge.amount_cents, charge.projected_amount_cents) == (1000, 3100)
        current = await call(lago.customers.current_usage, "cus_1", "sub_1")
        assert current.amount_cents == 1000  # the same computation
        query = "external_subscription_id=sub_1"
        raw = await api.ok("GET", f"/api/v1/customers/cus_1/projected_usage?{query}")
        assert _schema_errors("CustomerProjectedUsage", raw) == []
        untaxed = await api.ok(
            "GET", f"/api/v1/customers/cus_1/projected_usage?{query}&apply_taxes=false"
        )
        # Taxes are the current usage's (20 % of $10), not projected; apply_taxes=false: none.
        assert (projected.taxes_amount_cents, projected.total_amount_cents) == (200, 1200)
        untaxed_usage = untaxed["customer_projected_usage"]
        assert (untaxed_usage["taxes_amount_cents"], untaxed_usage["total_amount_cents"]) == (
            0,
            1000,
        )

        await send_events(api, 4, "2026-02-03T09:00:00+00:00", "feb")
        assert (await api.advance("2026-03-01T00:00:00Z")).status_code == 200

        past = await call(lago.customers.past_usage, "cus_1", "sub_1")
        periods = past["usage_periods"]
        # Newest first: February's 4 calls ($2), then January's 20 ($10).
        assert [(p.from_datetime, p.to_datetime) for p in periods] == [
            ("2026-02-01T00:00:00Z", "2026-02-28T23:59:59Z"),
            ("2026-01-01T00:00:00Z", "2026-01-31T23:59:59Z"),
        ]
        assert [p.amount_cents for p in periods] == [200, 1000]
        assert [p.taxes_amount_cents for p in periods] == [40, 200]
        assert [p.total_amount_cents for p in periods] == [240, 1200]
        assert [p.charges_usage[0].units for p in periods] == ["4", "20"]
        assert all(p.lago_invoice_id for p in periods)
        assert past["meta"]["total_count"] == 2
        raw = await api.ok("GET", f"/api/v1/customers/cus_1/past_usage?{query}")
        assert _schema_errors("CustomerPastUsage", raw) == []

        paged = await call(lago.customers.past_usage, "cus_1", "sub_1", {"per_page": 1, "page": 2})
        assert [p.amount_cents for p in paged["usage_periods"]] == [1000]
        assert paged["meta"]["prev_page"] == 1
        latest = await call(lago.customers.past_usage, "cus_1", "sub_1", {"periods_count": 1})
        assert [p.amount_cents for p in latest["usage_periods"]] == [200]
        by_metric = await call(
            lago.customers.past_usage, "cus_1", "sub_1", {"billable_metric_code": "calls"}
        )
        assert len(by_metric["usage_periods"]) == 2
        with pytest.raises(LagoApiError) as unknown:
            await call(
                lago.customers.past_usage, "cus_1", "sub_1", {"billable_metric_code": "nope"}
            )
        assert unknown.value.status_code == 404

        missing = await http.get("/api/v1/customers/cus_1/past_usage", headers=tenant_a.headers)
        assert missing.status_code == 422
        assert missing.json()["error_details"] == {
            "external_subscription_id": ["value_is_mandatory"]
        }

        # Another customer of the same organization asking for sub_1 (its workflow is
        # queried early, before the rows say whose it is) gets a 404, as does a
        # subscription that does not exist.
        await api.ok("POST", "/api/v1/customers", {"customer": {"external_id": "cus_2"}})
        for path in (
            "/api/v1/customers/cus_2/current_usage?external_subscription_id=sub_1",
            "/api/v1/customers/cus_1/current_usage?external_subscription_id=sub_none",
            "/api/v1/customers/cus_none/current_usage?external_subscription_id=sub_1",
        ):
            refused = await http.get(path, headers=tenant_a.headers)
            assert refused.status_code == 404, path
            assert refused.json()["code"] in ("subscription_not_found", "customer_not_found")
        same = await call(lago.customers.current_usage, "cus_1", "sub_1")
        assert (same.from_datetime, same.amount_cents) == ("2026-03-01T00:00:00Z", 0)

        # Another organization's key sees none of it.
        for method, args in (
            (other.customers.projected_usage, ("cus_1", "sub_1")),
            (other.customers.current_usage, ("cus_1", "sub_1")),
            (other.customers.past_usage, ("cus_1", "sub_1")),
        ):
            with pytest.raises(LagoApiError) as hidden:
                await call(method, *args)
            assert hidden.value.status_code == 404
        # ...even for a customer of its own with the same external ids.
        mine = SubscriptionApi(http, tenant_b)
        await mine.ok("POST", "/api/v1/customers", {"customer": {"external_id": "cus_1"}})
        empty = await call(other.customers.past_usage, "cus_1", "sub_1")
        assert empty["usage_periods"] == []
