"""Every route that changes a resource leaves exactly the expected activity row.

The steps run in order (later ones use what earlier ones created); each is called, must
succeed (or fail, where the step says so), and must leave exactly the listed rows, written
in the transaction of the change (a refused call leaves none). Subscriptions and invoices,
changed through Temporal, are covered in test_workflow_routes_audited.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.models import ActivityLog
from tests.support.auth import Tenant


@dataclass(frozen=True)
class Step:
    method: str
    path: str
    body: dict[str, Any] | None
    expected: list[tuple[str, str]]  # (activity_type, resource_type)
    status: int = 200
    external_customer_id: str | None = None
    changes: dict[str, Any] = field(default_factory=dict)  # a subset of the changes


METRIC = {
    "name": "Calls",
    "code": "calls",
    "aggregation_type": "count_agg",
    "filters": [{"key": "region", "values": ["eu", "us"]}],
}
CHARGE = {"billable_metric_id": "{metric}", "charge_model": "standard", "code": "calls_std"}
PLAN = {
    "name": "Pro",
    "code": "pro",
    "interval": "monthly",
    "amount_cents": 1000,
    "amount_currency": "USD",
}
COUPON = {
    "name": "Welcome",
    "code": "welcome",
    "coupon_type": "fixed_amount",
    "amount_cents": 1000,
    "amount_currency": "USD",
    "frequency": "once",
    "expiration": "no_expiration",
}
FEATURE = {
    "code": "seats",
    "name": "Seats",
    "privileges": [{"code": "max", "value_type": "integer"}],
}

STEPS = [
    Step(
        "PUT",
        "/organizations",
        {"organization": {"legal_name": "Acme"}},
        # The default billing entity shares the organization's settings (as in Lago).
        [("organization.updated", "Organization"), ("billing_entities.updated", "BillingEntity")],
        changes={"legal_name": [None, "Acme"]},
    ),
    Step(
        "POST",
        "/billing_entities",
        {"billing_entity": {"code": "eu", "name": "Acme EU"}},
        [("billing_entities.created", "BillingEntity")],
    ),
    Step(
        "PUT",
        "/billing_entities/eu",
        {"billing_entity": {"city": "Paris"}},
        [("billing_entities.updated", "BillingEntity")],
        changes={"city": [None, "Paris"]},
    ),
    Step(
        "POST",
        "/taxes",
        {"tax": {"name": "VAT", "code": "vat", "rate": "20"}},
        [("tax.created", "Tax")],
    ),
    Step(
        "PUT",
        "/taxes/vat",
        {"tax": {"name": "VAT FR"}},
        [("tax.updated", "Tax")],
        changes={"name": ["VAT", "VAT FR"]},
    ),
    Step("PUT", "/taxes/nope", {"tax": {"name": "x"}}, [], status=404),
    Step(
        "POST",
        "/add_ons",
        {
            "add_on": {
                "name": "Setup",
                "code": "setup",
                "amount_cents": 100,
                "amount_currency": "USD",
            }
        },
        [("add_on.created", "AddOn")],
    ),
    Step(
        "PUT",
        "/add_ons/setup",
        {"add_on": {"amount_cents": 200}},
        [("add_on.updated", "AddOn")],
        changes={"amount_cents": [100, 200]},
    ),
    Step(
        "POST",
        "/billable_metrics",
        {"billable_metric": METRIC},
        [("billable_metric.created", "BillableMetric")],
    ),
    Step("POST", "/billable_metrics", {"billable_metric": METRIC}, [], status=422),
    Step(
        "PUT",
        "/billable_metrics/calls",
        {"billable_metric": {"name": "API calls"}},
        [("billable_metric.updated", "BillableMetric")],
    ),
    Step("POST", "/plans", {"plan": PLAN}, [("plan.created", "Plan")]),
    Step(
        "PUT",
        "/plans/pro",
        {"plan": {"name": "Pro+"}},
        [("plan.updated", "Plan")],
        changes={"name": ["Pro", "Pro+"]},
    ),
    Step("POST", "/plans/pro/charges", {"charge": CHARGE}, [("plan.updated", "Plan")]),
    Step(
        "PUT",
        "/plans/pro/charges/calls_std",
        {"charge": {"properties": {"amount": "0.5"}}},
        [("plan.updated", "Plan")],
    ),
    Step(
        "POST",
        "/plans/pro/charges/calls_std/filters",
        {"filter": {"properties": {"amount": "1"}, "values": {"region": ["eu"]}}},
        [("plan.updated", "Plan")],
    ),
    Step("DELETE", "/plans/pro/charges/calls_std", None, [("plan.updated", "Plan")]),
    Step(
        "POST",
        "/plans/pro/fixed_charges",
        {
            "fixed_charge": {
                "add_on_id": "{add_on}",
                "charge_model": "standard",
                "code": "seat",
                "properties": {"amount": "5"},
            }
        },
        [("plan.updated", "Plan")],
    ),
    Step(
        "PUT",
        "/plans/pro/fixed_charges/seat",
        {"fixed_charge": {"properties": {"amount": "6"}}},
        [("plan.updated", "Plan")],
    ),
    Step("DELETE", "/plans/pro/fixed_charges/seat", None, [("plan.updated", "Plan")]),
    Step("POST", "/features", {"feature": FEATURE}, [("feature.created", "Entitlement::Feature")]),
    Step(
        "PUT",
        "/features/seats",
        {"feature": {"name": "Seat count"}},
        [("feature.updated", "Entitlement::Feature")],
    ),
    Step(
        "POST",
        "/plans/pro/entitlements",
        {"entitlements": {"seats": {"max": 10}}},
        [("plan.updated", "Plan")],
    ),
    Step(
        "PATCH",
        "/plans/pro/entitlements",
        {"entitlements": {"seats": {"max": 20}}},
        [("plan.updated", "Plan")],
    ),
    Step(
        "DELETE", "/plans/pro/entitlements/seats/privileges/max", None, [("plan.updated", "Plan")]
    ),
    Step("DELETE", "/plans/pro/entitlements/seats", None, [("plan.updated", "Plan")]),
    Step(
        "DELETE",
        "/features/seats/privileges/max",
        None,
        [("feature.updated", "Entitlement::Feature")],
    ),
    Step("DELETE", "/features/seats", None, [("feature.deleted", "Entitlement::Feature")]),
    Step(
        "POST",
        "/customers",
        {"customer": {"external_id": "cus_1", "name": "Ada"}},
        [("customer.created", "Customer")],
        external_customer_id="cus_1",
    ),
    Step(
        "POST",
        "/customers",
        {"customer": {"external_id": "cus_1", "name": "Ada L."}},
        [("customer.updated", "Customer")],
        external_customer_id="cus_1",
        changes={"name": ["Ada", "Ada L."]},
    ),
    Step("POST", "/coupons", {"coupon": COUPON}, [("coupon.created", "Coupon")]),
    Step("PUT", "/coupons/welcome", {"coupon": {"name": "Hello"}}, [("coupon.updated", "Coupon")]),
    Step(
        "POST",
        "/applied_coupons",
        {"applied_coupon": {"external_customer_id": "cus_1", "coupon_code": "welcome"}},
        # Applying the first coupon gives the customer its currency: a change of its own.
        [("applied_coupon.created", "AppliedCoupon"), ("customer.updated", "Customer")],
        external_customer_id="cus_1",
    ),
    Step(
        "DELETE",
        "/customers/cus_1/applied_coupons/{applied_coupon}",
        None,
        [("applied_coupon.deleted", "AppliedCoupon")],
        external_customer_id="cus_1",
    ),
    Step("DELETE", "/coupons/welcome", None, [("coupon.deleted", "Coupon")]),
    Step(
        "POST",
        "/wallets",
        {
            "wallet": {
                "external_customer_id": "cus_1",
                "rate_amount": "1",
                "currency": "USD",
                "name": "Credits",
                "code": "credits",
            }
        },
        [("wallet.created", "Wallet")],
        external_customer_id="cus_1",
    ),
    Step(
        "PUT",
        "/wallets/{wallet}",
        {"wallet": {"name": "Prepaid"}},
        [("wallet.updated", "Wallet")],
        external_customer_id="cus_1",
    ),
    Step(
        "POST",
        "/customers/cus_1/wallets/credits/alerts",
        {
            "alert": {
                "alert_type": "wallet_balance_amount",
                "code": "low",
                "thresholds": [{"value": "10"}],
            }
        },
        [("alert.created", "UsageMonitoring::Alert")],
    ),
    Step(
        "DELETE",
        "/customers/cus_1/wallets/credits/alerts/low",
        None,
        [("alert.deleted", "UsageMonitoring::Alert")],
    ),
    Step(
        "DELETE",
        "/wallets/{wallet}",
        None,
        [("wallet.updated", "Wallet")],
        external_customer_id="cus_1",
    ),
    Step(
        "POST",
        "/webhook_endpoints",
        {"webhook_endpoint": {"webhook_url": "https://hooks.example.com/bxb"}},
        [("webhook_endpoint.created", "WebhookEndpoint")],
    ),
    Step(
        "PUT",
        "/webhook_endpoints/{webhook_endpoint}",
        {"webhook_endpoint": {"webhook_url": "https://hooks.example.com/v2"}},
        [("webhook_endpoint.updated", "WebhookEndpoint")],
    ),
    Step(
        "DELETE",
        "/webhook_endpoints/{webhook_endpoint}",
        None,
        [("webhook_endpoint.deleted", "WebhookEndpoint")],
    ),
    Step(
        "POST",
        "/test_clocks",
        {"test_clock": {"name": "Rehearsal", "frozen_time": "2026-01-01T00:00:00Z"}},
        [("test_clock.created", "TestClock")],
    ),
    Step("DELETE", "/test_clocks/{test_clock}", None, [("test_clock.deleted", "TestClock")]),
    Step(
        "DELETE",
        "/customers/cus_1",
        None,
        [("customer.deleted", "Customer")],
        external_customer_id="cus_1",
    ),
    Step("DELETE", "/plans/pro", None, [("plan.deleted", "Plan")]),
    Step(
        "DELETE", "/billable_metrics/calls", None, [("billable_metric.deleted", "BillableMetric")]
    ),
    Step("DELETE", "/add_ons/setup", None, [("add_on.deleted", "AddOn")]),
    Step("DELETE", "/taxes/vat", None, [("tax.deleted", "Tax")]),
]

# Where a later step finds the id an earlier answer gave: root key -> placeholder.
IDS = {
    "billable_metric": "metric",
    "add_on": "add_on",
    "applied_coupon": "applied_coupon",
    "wallet": "wallet",
    "webhook_endpoint": "webhook_endpoint",
    "test_clock": "test_clock",
}


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        for name, lago_id in ids.items():
            value = value.replace("{" + name + "}", lago_id)
        return value
    if isinstance(value, dict):
        return {key: _fill(item, ids) for key, item in value.items()}
    return value


async def test_every_change_leaves_its_activity_row(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    ids: dict[str, str] = {}
    seen = 0
    for step in STEPS:
        answer = await client.request(
            step.method,
            "/api/v1" + _fill(step.path, ids),
            json=_fill(step.body, ids),
            headers=tenant_a.headers,
        )
        where = f"{step.method} {step.path}"
        assert answer.status_code == step.status, f"{where}: {answer.text}"
        if answer.status_code == 200 and answer.content:
            for root, name in IDS.items():
                found = answer.json().get(root)
                if isinstance(found, dict) and "lago_id" in found:
                    ids.setdefault(name, found["lago_id"])
        async with sessions() as session:
            rows = list(await session.scalars(select(ActivityLog).order_by(ActivityLog.logged_at)))
        new = rows[seen:]
        seen = len(rows)
        assert sorted((r.activity_type, r.resource_type) for r in new) == sorted(step.expected), (
            where
        )
        for row in new:
            assert row.organization_id == tenant_a.organization_id
            assert row.actor_kind == "api_key"
            assert row.activity_source == "api"
            if step.external_customer_id is not None:
                assert row.external_customer_id == step.external_customer_id, where
            changes = row.activity_object_changes or {}
            for key, value in step.changes.items():
                assert changes.get(key) == value, f"{where}: {changes}"
