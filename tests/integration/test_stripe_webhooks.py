"""POST /api/v1/webhooks/stripe/{organization_id}: signed events from Stripe.

Payloads are signed as Stripe does (HMAC-SHA256 over "timestamp.body" with the endpoint
secret, sent as `Stripe-Signature: t=...,v1=...`); the tests compute it themselves.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.db import transaction
from bxb.core.settings import Settings
from bxb.models import Payment
from tests.integration.test_payments import (
    insert_customer,
    insert_invoice,
    invoice_row,
    payments_of,
)
from tests.support.auth import Tenant
from tests.support.stripe_events import SECRET, event, signature


@pytest.fixture
def signed_client(client: httpx.AsyncClient, settings: Settings) -> httpx.AsyncClient:
    """The app, with STRIPE_WEBHOOK_SECRET set (settings are read per request)."""
    settings.stripe_webhook_secret = SECRET
    return client


async def post(
    client: httpx.AsyncClient, organization_id: Any, body: bytes, header: str | None
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["Stripe-Signature"] = header
    return await client.post(
        f"/api/v1/webhooks/stripe/{organization_id}", content=body, headers=headers
    )


async def processing_payment(
    sessions: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    intent_id: str,
    status: str = "processing",
) -> uuid.UUID:
    """An invoice whose attempt 1 waits at Stripe (status processing); the invoice id."""
    customer_id = await insert_customer(sessions, tenant, provider_customer_id="cus_x")
    invoice_id = await insert_invoice(sessions, tenant, customer_id, total=2500)
    async with transaction(sessions) as session:
        session.add(
            Payment(
                organization_id=tenant.organization_id,
                invoice_id=invoice_id,
                customer_id=customer_id,
                provider="stripe",
                attempt=1,
                amount_cents=2500,
                currency="USD",
                status=status,
                provider_payment_id=intent_id,
            )
        )
    return invoice_id


async def test_a_succeeded_intent_pays_the_invoice_once(
    signed_client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
) -> None:
    invoice_id = await processing_payment(sessions, tenant_a, "pi_async")
    body = event("payment_intent.succeeded", {"id": "pi_async", "status": "succeeded"})

    for _ in range(2):  # Stripe may deliver an event more than once
        response = await post(signed_client, tenant_a.organization_id, body, signature(body))
        assert response.status_code == 200, response.text
        assert response.json() == {"received": True}

    [payment] = await payments_of(sessions, invoice_id)
    assert payment.status == "succeeded"
    assert payment.paid_at is not None
    invoice = await invoice_row(sessions, invoice_id)
    assert (invoice.payment_status, invoice.total_paid_amount_cents) == ("succeeded", 2500)


async def test_a_failed_intent_fails_the_payment_and_the_invoice(
    signed_client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
) -> None:
    invoice_id = await processing_payment(sessions, tenant_a, "pi_fails")
    intent = {
        "id": "pi_fails",
        "status": "requires_payment_method",
        "last_payment_error": {
            "code": "card_declined",
            "decline_code": "insufficient_funds",
            "message": "Your card has insufficient funds.",
        },
    }
    body = event("payment_intent.payment_failed", intent)
    for _ in range(2):
        response = await post(signed_client, tenant_a.organization_id, body, signature(body))
        assert response.status_code == 200

    [payment] = await payments_of(sessions, invoice_id)
    assert (payment.status, payment.failure_code) == ("failed", "insufficient_funds")
    assert payment.failure_message == "Your card has insufficient funds."
    invoice = await invoice_row(sessions, invoice_id)
    assert (invoice.payment_status, invoice.total_paid_amount_cents) == ("failed", 0)

    # A success reported later for the same PaymentIntent still counts the money.
    paid = event("payment_intent.succeeded", {"id": "pi_fails", "status": "succeeded"})
    assert (await post(signed_client, tenant_a.organization_id, paid, signature(paid))).is_success
    invoice = await invoice_row(sessions, invoice_id)
    assert (invoice.payment_status, invoice.total_paid_amount_cents) == ("succeeded", 2500)


async def test_an_intent_still_processing_changes_nothing_yet(
    signed_client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
) -> None:
    invoice_id = await processing_payment(sessions, tenant_a, "pi_slow", status="pending")
    body = event("payment_intent.succeeded", {"id": "pi_slow", "status": "processing"})
    response = await post(signed_client, tenant_a.organization_id, body, signature(body))
    assert response.status_code == 200
    [payment] = await payments_of(sessions, invoice_id)
    assert payment.status == "processing"
    assert (await invoice_row(sessions, invoice_id)).payment_status == "pending"


async def test_unsigned_wrongly_signed_and_stale_events_are_rejected(
    signed_client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
) -> None:
    invoice_id = await processing_payment(sessions, tenant_a, "pi_forged")
    body = event("payment_intent.succeeded", {"id": "pi_forged", "status": "succeeded"})
    org = tenant_a.organization_id
    cases: dict[str, list[str | None]] = {
        "missing_signature": [None, ""],
        "invalid_signature": [
            signature(body, secret="whsec_someone_else"),
            signature(body, timestamp=int(time.time()) - 301),
            signature(body + b" "),
            "garbage",
        ],
    }
    for code, headers in cases.items():
        for header in headers:
            response = await post(signed_client, org, body, header)
            assert response.status_code == 400, header
            assert response.json() == {"status": 400, "error": "Bad Request", "code": code}
    not_json = b"{not json"
    response = await post(signed_client, org, not_json, signature(not_json))
    assert (response.status_code, response.json()["code"]) == (400, "invalid_payload")
    [payment] = await payments_of(sessions, invoice_id)
    assert payment.status == "processing"


async def test_without_a_configured_secret_every_event_is_rejected(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    body = event("payment_intent.succeeded", {"id": "pi_1", "status": "succeeded"})
    response = await post(client, tenant_a.organization_id, body, signature(body))
    assert response.status_code == 400
    assert response.json()["code"] == "webhook_secret_not_configured"


async def test_other_events_unknown_intents_and_other_organizations_are_ignored(
    signed_client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    tenant_b: Tenant,
) -> None:
    invoice_id = await processing_payment(sessions, tenant_a, "pi_mine")
    succeeded = event("payment_intent.succeeded", {"id": "pi_mine", "status": "succeeded"})
    bodies = [
        (tenant_a.organization_id, event("customer.created", {"id": "pi_mine"})),
        (tenant_a.organization_id, event("payment_intent.succeeded", {"id": "pi_unknown"})),
        (tenant_b.organization_id, succeeded),  # not that organization's payment
        (tenant_a.organization_id, json.dumps({"type": "payment_intent.succeeded"}).encode()),
        (tenant_a.organization_id, event("payment_intent.succeeded", {"id": 42})),
    ]
    for org, body in bodies:
        response = await post(signed_client, org, body, signature(body))
        assert response.status_code == 200
        assert response.json() == {"received": True}
    for unknown in ("not-a-uuid", uuid.uuid4()):
        response = await post(signed_client, unknown, succeeded, signature(succeeded))
        assert response.status_code == 404
        assert response.json()["code"] == "organization_not_found"
    [payment] = await payments_of(sessions, invoice_id)
    assert payment.status == "processing"
    assert (await invoice_row(sessions, invoice_id)).payment_status == "pending"
