"""Every portal route of subscriptions, plans, usage and payment method, for a token of
customer A of organization X: A's own data, never customer B's (same organization) nor
organization Y's (which has a customer, a subscription and plans with the same ids and
codes). Real Temporal, a test clock, localstripe."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.models import Customer, Subscription
from tests.support.auth import Tenant
from tests.support.portal import bearer, portal_token
from tests.support.stripe_cards import GOOD_CARD, stripe_customer
from tests.support.subscriptions import SubscriptionApi

pytestmark = pytest.mark.slow

OTHER_CARD = "5555555555554444"


async def _events(
    api: SubscriptionApi, sub: str, count: int, prefix: str, at: str = "2026-01-05T09:00:00"
) -> None:
    stamp = int(datetime.fromisoformat(f"{at}+00:00").timestamp())
    for n in range(count):
        event = {
            "transaction_id": f"{prefix}{n}",
            "external_subscription_id": sub,
            "code": "calls",
            "timestamp": stamp,
        }
        await api.ok("POST", "/api/v1/events", {"event": event})


async def _organization(
    api: SubscriptionApi, plans: dict[str, tuple[int, str]], customers: dict[str, str | None]
) -> None:
    """Plans (code: amount, currency, with calls at $0.50), and customers (external id:
    Stripe customer) each subscribed to `basic` as sub_<letter>, on one clock at Jan 1."""
    clock = await api.ok(
        "POST",
        "/api/v1/test_clocks",
        {"test_clock": {"name": "c", "frozen_time": "2026-01-01T00:00:00Z"}},
    )
    api.clock = clock["test_clock"]["lago_id"]
    body = {"name": "Calls", "code": "calls", "aggregation_type": "count_agg"}
    metric = await api.ok("POST", "/api/v1/billable_metrics", {"billable_metric": body})
    charge = {
        "billable_metric_id": metric["billable_metric"]["lago_id"],
        "charge_model": "standard",
        "properties": {"amount": "0.5"},
    }
    for code, (amount, currency) in plans.items():
        plan = {
            "name": code.title(),
            "code": code,
            "interval": "monthly",
            "amount_cents": amount,
            "amount_currency": currency,
            "charges": [charge],
        }
        await api.ok("POST", "/api/v1/plans", {"plan": plan})
    for external_id, on_stripe in customers.items():
        customer: dict[str, Any] = {"external_id": external_id, "test_clock_id": api.clock}
        if on_stripe is not None:
            customer["billing_configuration"] = {
                "payment_provider": "stripe",
                "provider_customer_id": on_stripe,
                "sync_with_provider": False,
            }
        await api.ok("POST", "/api/v1/customers", {"customer": customer})
        sub = "sub_" + external_id.removeprefix("cus_")
        body = {"external_customer_id": external_id, "plan_code": "basic", "external_id": sub}
        await api.ok("POST", "/api/v1/subscriptions", {"subscription": body})


async def _row(
    sessions: async_sessionmaker[AsyncSession], tenant: Tenant, external_id: str
) -> Subscription:
    async with sessions() as session:
        row = await session.scalar(
            select(Subscription).where(
                Subscription.organization_id == tenant.organization_id,
                Subscription.external_id == external_id,
                Subscription.status == "active",
            )
        )
    assert row is not None
    return row


async def test_a_portal_token_reads_and_changes_only_its_own_customer(
    stack: httpx.AsyncClient,
    localstripe_url: str,
    tenant_a: Tenant,
    tenant_b: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    http = stack
    x, y = SubscriptionApi(http, tenant_a), SubscriptionApi(http, tenant_b)
    stripe_a = await stripe_customer(localstripe_url, GOOD_CARD)
    stripe_b = await stripe_customer(localstripe_url, OTHER_CARD)
    await _organization(
        x,
        {"basic": (3100, "USD"), "pro": (6200, "USD"), "euro": (2900, "EUR")},
        {"cus_a": stripe_a, "cus_b": stripe_b},
    )
    await _organization(y, {"basic": (9900, "USD"), "enterprise": (50000, "USD")}, {"cus_a": None})
    await _events(x, "sub_a", 20, "xa")
    await _events(x, "sub_b", 7, "xb")
    await _events(y, "sub_a", 3, "ya")
    await _events(x, "sub_a", 4, "xa_feb", "2026-02-05T09:00:00")
    await _events(y, "sub_a", 6, "ya_feb", "2026-02-05T09:00:00")
    for org in (x, y):
        assert (await org.advance("2026-02-10T00:00:00Z")).status_code == 200

    a = bearer(await portal_token(http, tenant_a, "cus_a"))
    y_a = bearer(await portal_token(http, tenant_b, "cus_a"))
    shown: list[str] = []

    async def get(path: str, headers: dict[str, str], status: int = 200) -> Any:
        response = await http.get(f"/api/v1/portal{path}", headers=headers)
        assert response.status_code == status, response.text
        shown.append(response.text)
        return response.json()

    async def post(path: str, headers: dict[str, str], body: Any = None, status: int = 200) -> Any:
        response = await http.post(f"/api/v1/portal{path}", json=body, headers=headers)
        assert response.status_code == status, response.text
        shown.append(response.text)
        return response.json()

    # GET /subscriptions: A's only, at X's price.
    listed = (await get("/subscriptions", a))["subscriptions"]
    assert [(s["external_id"], s["plan"]["amount_cents"]) for s in listed] == [("sub_a", 3100)]
    y_listed = (await get("/subscriptions", y_a))["subscriptions"]
    assert [(s["external_id"], s["plan"]["amount_cents"]) for s in y_listed] == [("sub_a", 9900)]

    # GET /subscriptions/{id}: B's is not found; A's is X's.
    await get("/subscriptions/sub_b", a, 404)
    assert (await get("/subscriptions/sub_a", a))["subscription"]["plan"]["code"] == "basic"
    assert (await get("/subscriptions/sub_a", y_a))["subscription"]["plan_amount_cents"] == 9900

    # GET /plans: X's plans in A's currency; not X's EUR plan, none of Y's.
    plans = (await get("/plans", a))["plans"]
    assert [(p["code"], p["amount_cents"]) for p in plans] == [("basic", 3100), ("pro", 6200)]
    assert plans[0]["charges"][0]["billable_metric"] == {"code": "calls", "name": "Calls"}

    # Usage: current, projected, past, of A's subscription only.
    # February so far: A's 4 calls ($2); Y's customer with the same ids has 6 ($3).
    current = (await get("/subscriptions/sub_a/usage/current", a))["usage"]
    assert (current["amount_cents"], current["charges_usage"][0]["units"]) == (200, "4")
    await get("/subscriptions/sub_b/usage/current", a, 404)
    await get("/subscriptions/sub_b/usage/projected", a, 404)
    y_current = (await get("/subscriptions/sub_a/usage/current", y_a))["usage"]
    assert y_current["amount_cents"] == 300
    past = await get("/subscriptions/sub_a/usage/past", a)
    assert [(p["amount_cents"], p["charges_usage"][0]["units"]) for p in past["usage_periods"]] == [
        (1000, "20")  # January: 20 calls at $0.50
    ]
    assert (await get("/subscriptions/sub_b/usage/past", a))["usage_periods"] == []
    y_past = await get("/subscriptions/sub_a/usage/past", y_a)
    assert [p["amount_cents"] for p in y_past["usage_periods"]] == [150]  # Y's 3 calls
    # Feb 10 00:00: ten days of 28 started; 4 calls → 11.2 by Feb 28 ($5.60), Y's 6 → 16.8.
    projected = (await get("/subscriptions/sub_a/usage/projected", a))["usage"]
    assert (projected["amount_cents"], projected["projected_amount_cents"]) == (200, 560)
    assert projected["charges_usage"][0]["projected_units"] == "11.2"
    y_projected = (await get("/subscriptions/sub_a/usage/projected", y_a))["usage"]
    assert y_projected["projected_amount_cents"] == 840

    # Payment method: A's card, never B's; Y's customer has none on Stripe.
    method = (await get("/payment_method", a))["payment_method"]
    assert (method["brand"], method["last4"]) == ("visa", "4242")
    await get("/payment_method", y_a, 422)
    intent = (await post("/payment_method/setup_intent", a))["setup_intent"]
    assert intent["client_secret"].startswith("seti_")
    assert intent["status"] == "requires_payment_method"
    # localstripe has no Checkout Sessions: Stripe's refusal in Lago's shape.
    refused = await post("/payment_method/checkout_url", a, status=422)
    assert refused["code"] == "third_party_error"

    # Changes: B's subscription cannot be touched; Y's and EUR plans are not offered.
    change = {"subscription": {"plan_code": "pro"}}
    await post("/subscriptions/sub_b/plan_change", a, change, 404)
    await post("/subscriptions/sub_b/cancel", a, None, 404)
    same = await post(
        "/subscriptions/sub_a/plan_change", a, {"subscription": {"plan_code": "basic"}}, 422
    )
    assert same["error_details"] == {"plan_code": ["same_plan"]}
    for code in ("enterprise", "euro"):
        body = {"subscription": {"plan_code": code}}
        refusal = await post("/subscriptions/sub_a/plan_change", a, body, 422)
        assert refusal["error_details"] == {"plan_code": ["plan_not_found"]}
    b_row = await _row(sessions, tenant_a, "sub_b")
    assert (b_row.plan_code, b_row.ending_at) == ("basic", None)

    # A's own: upgrade to pro, then cancel at the period's end; Y's sub_a is untouched.
    upgraded = (await post("/subscriptions/sub_a/plan_change", a, change))["subscription"]
    assert upgraded["plan"]["code"] == "pro"
    canceled = (await post("/subscriptions/sub_a/cancel", a))["subscription"]
    assert canceled["ending_at"] == "2026-03-01T00:00:00Z"
    y_row = await _row(sessions, tenant_b, "sub_a")
    assert (y_row.plan_code, y_row.ending_at) == ("basic", None)
    b_row = await _row(sessions, tenant_a, "sub_b")
    assert (b_row.plan_code, b_row.ending_at) == ("basic", None)

    # No token, or an organization's API key, is no portal token: Lago's 401.
    routes = [
        ("GET", "/subscriptions"),
        ("GET", "/subscriptions/sub_a"),
        ("GET", "/plans"),
        ("POST", "/subscriptions/sub_a/plan_change"),
        ("POST", "/subscriptions/sub_a/cancel"),
        ("GET", "/subscriptions/sub_a/usage/current"),
        ("GET", "/subscriptions/sub_a/usage/projected"),
        ("GET", "/subscriptions/sub_a/usage/past"),
        ("GET", "/payment_method"),
        ("POST", "/payment_method/setup_intent"),
        ("POST", "/payment_method/checkout_url"),
    ]
    for method, path in routes:
        for headers in ({}, tenant_a.headers):
            response = await http.request(method, f"/api/v1/portal{path}", headers=headers)
            assert response.status_code == 401, (method, path)
            assert response.json() == {"status": 401, "error": "Unauthorized"}

    # Nothing shown names the organization's internal ids or the provider's.
    async with sessions() as session:
        customers = list(await session.scalars(select(Customer)))
    secrets = [stripe_a, stripe_b, str(tenant_a.organization_id), str(tenant_b.organization_id)]
    secrets += [str(c.id) for c in customers]
    for text in shown:
        assert not any(secret in text for secret in secrets), text
        assert "lago_customer_id" not in text
        assert "organization_id" not in text
