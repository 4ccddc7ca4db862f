"""A customer's invoices, payments and subscriptions: the top-level lists and their
filters, scoped to the customer; 404 for an unknown or another organization's customer."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.api.customers import find_customer
from bxb.core.db import transaction
from bxb.models import Plan, Subscription
from tests.integration.test_payments import insert_customer, insert_invoice, pay
from tests.support.auth import Tenant
from tests.support.lago_schema import lago_errors

START = datetime(2026, 3, 1, tzinfo=UTC)


async def insert_subscription(
    sessions: async_sessionmaker[AsyncSession], tenant: Tenant, customer: str, external_id: str
) -> None:
    async with transaction(sessions) as session:
        plan = Plan(
            organization_id=tenant.organization_id,
            code=f"plan-{external_id}",
            name="Pro",
            interval="monthly",
            amount_cents=1000,
            amount_currency="USD",
        )
        session.add(plan)
        await session.flush()
        row = await find_customer(session, tenant.organization_id, customer)
        session.add(
            Subscription(
                organization_id=tenant.organization_id,
                external_id=external_id,
                customer_id=row.id,
                external_customer_id=customer,
                plan_id=plan.id,
                plan_code=plan.code,
                plan_amount_cents=1000,
                plan_amount_currency="USD",
                status="active",
                billing_time="calendar",
                subscription_at=START,
                started_at=START,
                workflow_id=f"wf-{external_id}",
            )
        )


async def test_customer_sub_routes_list_only_that_customers_objects(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    tenant_b: Tenant,
) -> None:
    acme = await insert_customer(sessions, tenant_a, "acme")
    bob = await insert_customer(sessions, tenant_a, "bob")
    acme_paid = await insert_invoice(sessions, tenant_a, acme, total=1000)
    acme_open = await insert_invoice(sessions, tenant_a, acme, total=3000)
    bob_invoice = await insert_invoice(sessions, tenant_a, bob, total=500)
    assert (await pay(client, tenant_a, acme_paid, 1000)).status_code == 200
    assert (await pay(client, tenant_a, bob_invoice, 200)).status_code == 200
    await insert_subscription(sessions, tenant_a, "acme", "sub_acme")
    await insert_subscription(sessions, tenant_a, "bob", "sub_bob")
    headers = tenant_a.headers

    invoices = await client.get("/api/v1/customers/acme/invoices", headers=headers)
    assert invoices.status_code == 200, invoices.text
    assert {i["lago_id"] for i in invoices.json()["invoices"]} == {str(acme_paid), str(acme_open)}
    assert invoices.json()["meta"]["total_count"] == 2
    # The very answer of the top-level list filtered on the customer (same objects, so the
    # same conformance as /invoices, whose shapes are checked with that route).
    top_level = await client.get(
        "/api/v1/invoices", params={"external_customer_id": "acme"}, headers=headers
    )
    assert invoices.json() == top_level.json()
    paid_only = await client.get(
        "/api/v1/customers/acme/invoices", params={"payment_status": "succeeded"}, headers=headers
    )
    assert [i["lago_id"] for i in paid_only.json()["invoices"]] == [str(acme_paid)]
    big = await client.get(
        "/api/v1/customers/acme/invoices", params={"amount_from": 2000}, headers=headers
    )
    assert [i["total_amount_cents"] for i in big.json()["invoices"]] == [3000]

    payments = await client.get("/api/v1/customers/acme/payments", headers=headers)
    top_level = await client.get(
        "/api/v1/payments", params={"external_customer_id": "acme"}, headers=headers
    )
    assert payments.json() == top_level.json()
    assert [(p["amount_cents"], p["invoice_ids"]) for p in payments.json()["payments"]] == [
        (1000, [str(acme_paid)])
    ]
    by_invoice = await client.get(
        "/api/v1/customers/acme/payments", params={"invoice_id": str(bob_invoice)}, headers=headers
    )
    assert by_invoice.json()["payments"] == []

    subscriptions = await client.get("/api/v1/customers/bob/subscriptions", headers=headers)
    top_level = await client.get(
        "/api/v1/subscriptions", params={"external_customer_id": "bob"}, headers=headers
    )
    assert subscriptions.json() == top_level.json()
    # Envelope and pagination as Lago's (the objects are those of /subscriptions).
    assert set(subscriptions.json()) == {"subscriptions", "meta"}
    assert not [
        e for e in lago_errors("SubscriptionsPaginated", subscriptions.json()) if "meta" in e
    ]
    assert [s["external_id"] for s in subscriptions.json()["subscriptions"]] == ["sub_bob"]
    terminated = await client.get(
        "/api/v1/customers/bob/subscriptions", params={"status[]": "terminated"}, headers=headers
    )
    assert terminated.json()["subscriptions"] == []

    # Bad filters: Lago's 422; unknown or foreign customers: 404.
    for path, params in (
        ("invoices", {"payment_status": "paid"}),
        ("invoices", {"issuing_date_from": "yesterday"}),
        ("invoices", {"amount_from": -1}),
        ("subscriptions", {"status[]": "sleeping"}),
    ):
        answer = await client.get(f"/api/v1/customers/acme/{path}", params=params, headers=headers)
        assert answer.status_code == 422, (path, params)
        assert answer.json()["code"] == "validation_errors"
    for path in ("invoices", "payments", "subscriptions", "payment_requests"):
        for customer, tenant in (("nobody", tenant_a), ("acme", tenant_b)):
            answer = await client.get(
                f"/api/v1/customers/{customer}/{path}", headers=tenant.headers
            )
            assert (answer.status_code, answer.json()["code"]) == (404, "customer_not_found")
