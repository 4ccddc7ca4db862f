"""finalize / refresh / void / retry_payment: refusals and organization isolation.

(Their effects, which go through the subscription workflow, are in tests/e2e.)
"""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.integration.test_payments import insert_customer, insert_invoice
from tests.support.auth import Tenant

ACTIONS = [
    ("PUT", "finalize"),
    ("PUT", "refresh"),
    ("POST", "void"),
    ("POST", "retry_payment"),
]


async def test_another_organizations_invoice_is_not_found(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    tenant_b: Tenant,
) -> None:
    customer_id = await insert_customer(sessions, tenant_a)
    invoice_id = await insert_invoice(sessions, tenant_a, customer_id)
    for method, action in ACTIONS:
        for lago_id in (invoice_id, "not-a-uuid"):
            response = await client.request(
                method, f"/api/v1/invoices/{lago_id}/{action}", headers=tenant_b.headers
            )
            assert response.status_code == 404, (action, lago_id)
            assert response.json()["code"] == "invoice_not_found"


async def test_actions_on_the_wrong_status_are_not_allowed(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    customer_id = await insert_customer(sessions, tenant_a)
    finalized = await insert_invoice(sessions, tenant_a, customer_id)
    draft = await insert_invoice(sessions, tenant_a, customer_id, status="draft")
    voided = await insert_invoice(sessions, tenant_a, customer_id, status="voided")
    refusals = [
        ("PUT", finalized, "finalize", "invoice_not_draft"),
        ("PUT", draft, "finalize", "invoice_not_draft"),  # a draft without a subscription
        ("POST", draft, "void", "not_voidable"),
        ("POST", voided, "void", "not_voidable"),
        ("POST", draft, "retry_payment", "invoice_payment_already_succeeded"),
        ("POST", voided, "retry_payment", "invoice_payment_already_succeeded"),
    ]
    for method, invoice_id, action, code in refusals:
        response = await client.request(
            method, f"/api/v1/invoices/{invoice_id}/{action}", headers=tenant_a.headers
        )
        assert response.status_code == 405, (action, response.text)
        assert response.json() == {"status": 405, "error": "Method Not Allowed", "code": code}


async def test_void_refuses_unknown_options(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    customer_id = await insert_customer(sessions, tenant_a)
    invoice_id = await insert_invoice(sessions, tenant_a, customer_id)
    response = await client.post(
        f"/api/v1/invoices/{invoice_id}/void",
        json={"generate_credit_note": "maybe"},
        headers=tenant_a.headers,
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_errors"
