"""Manual payments (POST/GET /api/v1/payments) and the payment rows every attempt leaves.

The helpers at the top insert customers and finalized invoices directly: payments only
need an invoice to owe something, however it was billed.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.db import transaction
from bxb.models import Customer, Invoice, Payment, Webhook, WebhookEndpoint
from tests.support.auth import Tenant

AT = datetime(2026, 3, 1, tzinfo=UTC)


async def insert_customer(
    sessions: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    external_id: str = "cus_1",
    provider_customer_id: str | None = None,
) -> uuid.UUID:
    async with transaction(sessions) as session:
        customer = Customer(
            organization_id=tenant.organization_id,
            external_id=external_id,
            sequential_id=1,
            currency="USD",
            payment_provider="stripe" if provider_customer_id else None,
            payment_provider_code="stripe_test" if provider_customer_id else None,
            provider_customer_id=provider_customer_id,
        )
        session.add(customer)
        await session.flush()
        return customer.id


async def insert_invoice(
    sessions: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    customer_id: uuid.UUID,
    total: int = 1000,
    status: str = "finalized",
) -> uuid.UUID:
    async with transaction(sessions) as session:
        invoice = Invoice(
            organization_id=tenant.organization_id,
            customer_id=customer_id,
            invoice_type="one_off",
            kind="one_off",
            status=status,
            payment_status="pending",
            currency="USD",
            issuing_date=date(2026, 3, 1),
            sequential_id=None if status == "draft" else 1,
            number=None if status == "draft" else f"INV-{uuid.uuid4().hex[:6]}",
            fees_amount_cents=total,
            total_amount_cents=total,
        )
        session.add(invoice)
        await session.flush()
        return invoice.id


async def invoice_row(sessions: async_sessionmaker[AsyncSession], invoice_id: uuid.UUID) -> Invoice:
    async with sessions() as session:
        invoice = await session.get(Invoice, invoice_id)
        assert invoice is not None
        return invoice


async def payments_of(
    sessions: async_sessionmaker[AsyncSession], invoice_id: uuid.UUID
) -> list[Payment]:
    async with sessions() as session:
        rows = await session.scalars(
            select(Payment).where(Payment.invoice_id == invoice_id).order_by(Payment.created_at)
        )
        return list(rows)


async def listen_to_webhooks(sessions: async_sessionmaker[AsyncSession], tenant: Tenant) -> None:
    async with transaction(sessions) as session:
        session.add(
            WebhookEndpoint(
                organization_id=tenant.organization_id, webhook_url="https://hooks.example.com"
            )
        )


async def queued_webhooks(
    sessions: async_sessionmaker[AsyncSession], tenant: Tenant
) -> list[Webhook]:
    async with sessions() as session:
        rows = await session.scalars(
            select(Webhook)
            .where(Webhook.organization_id == tenant.organization_id)
            .order_by(Webhook.created_at)
        )
        return list(rows)


async def pay(
    client: httpx.AsyncClient, tenant: Tenant, invoice_id: Any, amount: Any, **fields: Any
) -> httpx.Response:
    body = {"invoice_id": str(invoice_id), "amount_cents": amount, "reference": "wire-1"}
    return await client.post(
        "/api/v1/payments", json={"payment": body | fields}, headers=tenant.headers
    )


async def test_partial_manual_payments_accumulate_until_the_invoice_is_paid(
    temporal_client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
) -> None:
    await listen_to_webhooks(sessions, tenant_a)
    customer_id = await insert_customer(sessions, tenant_a)
    invoice_id = await insert_invoice(sessions, tenant_a, customer_id, total=1000)

    first = await pay(temporal_client, tenant_a, invoice_id, 400, paid_at="2026-03-02")
    assert first.status_code == 200, first.text
    payment = first.json()["payment"]
    assert payment["invoice_ids"] == [str(invoice_id)]
    assert payment["lago_customer_id"] == str(customer_id)
    assert payment["external_customer_id"] == "cus_1"
    assert (payment["amount_cents"], payment["amount_currency"]) == (400, "USD")
    assert (payment["type"], payment["payment_status"], payment["reference"]) == (
        "manual",
        "succeeded",
        "wire-1",
    )
    assert payment["paid_at"] == "2026-03-02T00:00:00Z"
    assert payment["payable_type"] == "Invoice"
    invoice = await invoice_row(sessions, invoice_id)
    assert (invoice.total_paid_amount_cents, invoice.payment_status) == (400, "pending")

    second = await pay(temporal_client, tenant_a, invoice_id, 600, reference="wire-2")
    assert second.status_code == 200, second.text
    invoice = await invoice_row(sessions, invoice_id)
    assert (invoice.total_paid_amount_cents, invoice.payment_status) == (1000, "succeeded")
    assert invoice.payment_overdue is False
    rows = await payments_of(sessions, invoice_id)
    assert [(p.provider, p.attempt, p.amount_cents, p.status) for p in rows] == [
        ("manual", None, 400, "succeeded"),
        ("manual", None, 600, "succeeded"),
    ]
    # Only the payment that completed the invoice changed its payment status; each
    # payment got its receipt.
    queued = await queued_webhooks(sessions, tenant_a)
    receipts = [w for w in queued if w.webhook_type == "payment_receipt.created"]
    assert sorted(w.payload["payment_receipt"]["payment"]["amount_cents"] for w in receipts) == [
        400,
        600,
    ]
    [webhook] = [w for w in queued if w.webhook_type != "payment_receipt.created"]
    assert (webhook.webhook_type, webhook.object_id) == (
        "invoice.payment_status_updated",
        rows[1].id,
    )
    assert webhook.payload["object_type"] == "invoice"
    assert webhook.payload["invoice"]["lago_id"] == str(invoice_id)
    assert webhook.payload["invoice"]["payment_status"] == "succeeded"

    # Nothing is due any more: even one cent is too much.
    over = await pay(temporal_client, tenant_a, invoice_id, 1)
    assert over.status_code == 422
    assert over.json()["error_details"] == {"amount_cents": ["invalid_amount"]}


async def test_manual_payment_amounts_and_fields_are_validated(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    customer_id = await insert_customer(sessions, tenant_a)
    invoice_id = await insert_invoice(sessions, tenant_a, customer_id, total=1000)

    for amount in (0, -5, 1001):
        response = await pay(client, tenant_a, invoice_id, amount)
        assert response.status_code == 422, amount
        assert response.json()["error_details"] == {"amount_cents": ["invalid_amount"]}
    wrong_type = await pay(client, tenant_a, invoice_id, "lots")
    assert wrong_type.json()["error_details"] == {"amount_cents": ["invalid_type"]}
    bad_date = await pay(client, tenant_a, invoice_id, 100, paid_at="yesterday")
    assert bad_date.status_code == 422
    assert bad_date.json()["error_details"] == {"paid_at": ["invalid_date"]}
    not_a_string = await pay(client, tenant_a, invoice_id, 100, paid_at=20260301)
    assert not_a_string.json()["error_details"] == {"paid_at": ["invalid_date"]}
    today = await pay(client, tenant_a, invoice_id, 50, paid_at=None)
    assert today.json()["payment"]["paid_at"] is not None
    missing = await client.post(
        "/api/v1/payments",
        json={"payment": {"invoice_id": str(invoice_id), "amount_cents": 100}},
        headers=tenant_a.headers,
    )
    assert missing.status_code == 422
    assert missing.json()["error_details"] == {"reference": ["value_is_mandatory"]}
    instant = await pay(client, tenant_a, invoice_id, 100, paid_at="2026-03-02T10:30:00")
    assert instant.json()["payment"]["paid_at"] == "2026-03-02T10:30:00Z"
    assert (await invoice_row(sessions, invoice_id)).total_paid_amount_cents == 150


async def test_manual_payments_need_a_finalized_invoice_of_the_organization(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    tenant_b: Tenant,
) -> None:
    customer_id = await insert_customer(sessions, tenant_a)
    draft = await insert_invoice(sessions, tenant_a, customer_id, status="draft")
    voided = await insert_invoice(sessions, tenant_a, customer_id, status="voided")
    for invoice_id in (draft, voided):
        response = await pay(client, tenant_a, invoice_id, 100)
        assert response.status_code == 403
        assert response.json()["code"] == "invalid_invoice_status"
    finalized = await insert_invoice(sessions, tenant_a, customer_id)
    for unknown in ("not-a-uuid", uuid.uuid4()):
        response = await pay(client, tenant_a, unknown, 100)
        assert response.status_code == 404
        assert response.json()["code"] == "invoice_not_found"
    other_org = await pay(client, tenant_b, finalized, 100)
    assert other_org.status_code == 404
    assert await payments_of(sessions, finalized) == []


async def test_payments_are_listed_filtered_and_found_within_the_organization(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    tenant_b: Tenant,
) -> None:
    alice = await insert_customer(sessions, tenant_a, "alice", provider_customer_id="cus_alice")
    bob = await insert_customer(sessions, tenant_a, "bob")
    alice_invoice = await insert_invoice(sessions, tenant_a, alice)
    bob_invoice = await insert_invoice(sessions, tenant_a, bob)
    async with transaction(sessions) as session:
        session.add(
            Payment(
                organization_id=tenant_a.organization_id,
                invoice_id=alice_invoice,
                customer_id=alice,
                provider="stripe",
                attempt=1,
                amount_cents=1000,
                currency="USD",
                status="failed",
                provider_payment_id="pi_declined",
                failure_code="card_declined",
                failure_message="Your card was declined.",
            )
        )
    manual = (await pay(client, tenant_a, bob_invoice, 250)).json()["payment"]

    listed = await client.get("/api/v1/payments", headers=tenant_a.headers)
    assert listed.status_code == 200
    body = listed.json()
    assert body["meta"]["total_count"] == 2
    by_type = {p["type"]: p for p in body["payments"]}
    provider = by_type["provider"]
    assert provider["provider_payment_id"] == provider["external_payment_id"] == "pi_declined"
    assert (provider["payment_status"], provider["failure_code"]) == ("failed", "card_declined")
    assert (provider["payment_provider_type"], provider["provider_customer_id"]) == (
        "stripe",
        "cus_alice",
    )
    assert provider["reference"] == ""

    only_bob = await client.get(
        "/api/v1/payments", params={"external_customer_id": "bob"}, headers=tenant_a.headers
    )
    assert [p["lago_id"] for p in only_bob.json()["payments"]] == [manual["lago_id"]]
    only_alice_invoice = await client.get(
        "/api/v1/payments", params={"invoice_id": str(alice_invoice)}, headers=tenant_a.headers
    )
    assert [p["type"] for p in only_alice_invoice.json()["payments"]] == ["provider"]
    nonsense = await client.get(
        "/api/v1/payments", params={"invoice_id": "nope"}, headers=tenant_a.headers
    )
    assert nonsense.json()["payments"] == []
    paged = await client.get("/api/v1/payments", params={"per_page": 1}, headers=tenant_a.headers)
    assert paged.json()["meta"]["total_pages"] == 2

    found = await client.get(f"/api/v1/payments/{manual['lago_id']}", headers=tenant_a.headers)
    assert found.json()["payment"] == manual
    for path in (manual["lago_id"], "nope", str(uuid.uuid4())):
        headers = tenant_b.headers if path == manual["lago_id"] else tenant_a.headers
        missing = await client.get(f"/api/v1/payments/{path}", headers=headers)
        assert missing.status_code == 404
        assert missing.json()["code"] == "payment_not_found"
    assert (await client.get("/api/v1/payments", headers=tenant_b.headers)).json()["payments"] == []
