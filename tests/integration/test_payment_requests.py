"""Payment requests and payment receipts (Lago's /payment_requests, /payment_receipts),
collected through the stripe SDK against localstripe.

A request gathers a customer's unpaid invoices into one PaymentIntent for their total;
when it succeeds each invoice gets its share as a payment (and a receipt) and is paid.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.api.app import create_app
from bxb.core.db import transaction
from bxb.core.settings import Settings
from bxb.models import (
    ActivityLog,
    Invoice,
    Payment,
    PaymentReceipt,
    PaymentRequest,
    payment_request_invoices,
)
from tests.conftest import app_client
from tests.integration.test_payments import (
    insert_customer,
    insert_invoice,
    invoice_row,
    listen_to_webhooks,
    queued_webhooks,
)
from tests.support.auth import Tenant
from tests.support.lago_schema import lago_errors
from tests.support.stripe_cards import (
    API_KEY,
    DECLINING_CARD,
    payment_intents_of,
    stripe_customer,
)
from tests.support.stripe_events import SECRET, event, signature


@pytest.fixture
def stripe_settings(settings: Settings, localstripe_url: str) -> Settings:
    return settings.model_copy(
        update={"stripe_api_key": API_KEY, "stripe_api_base": localstripe_url}
    )


@pytest.fixture
async def stripe_http(stripe_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async for c in app_client(create_app(stripe_settings)):
        yield c


def request_body(customer: str, invoices: list[Any], email: str = "ap@acme.test") -> Any:
    return {
        "payment_request": {
            "external_customer_id": customer,
            "email": email,
            "lago_invoice_ids": [str(i) for i in invoices],
        }
    }


EMBEDDED = re.compile(r"^\[('payment_requests?', (\d+, )?)?'(customer|invoices)'")


def own_errors(schema: str, body: Any) -> list[str]:
    """Schema errors of the request itself: its embedded customer and invoices are the
    customer and invoice objects of their own routes, whose null-valued fields the
    conformance work on those routes settles."""
    return [e for e in lago_errors(schema, body) if not EMBEDDED.match(e)]


async def overdue(sessions: async_sessionmaker[AsyncSession], *invoice_ids: uuid.UUID) -> None:
    async with transaction(sessions) as session:
        await session.execute(
            update(Invoice).where(Invoice.id.in_(invoice_ids)).values(payment_overdue=True)
        )


async def rows(sessions: async_sessionmaker[AsyncSession], model: Any) -> list[Any]:
    async with sessions() as session:
        return list(await session.scalars(select(model)))


async def test_a_payment_request_charges_the_invoices_total_once_and_pays_them(
    stripe_http: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    localstripe_url: str,
    tenant_a: Tenant,
    tenant_b: Tenant,
) -> None:
    await listen_to_webhooks(sessions, tenant_a)
    provider_customer = await stripe_customer(localstripe_url)
    customer_id = await insert_customer(sessions, tenant_a, "acme", provider_customer)
    first = await insert_invoice(sessions, tenant_a, customer_id, total=1000)
    second = await insert_invoice(sessions, tenant_a, customer_id, total=2550)
    await overdue(sessions, first, second)

    # As Lago, ids that are not the customer's invoices are left out.
    created = await stripe_http.post(
        "/api/v1/payment_requests",
        json=request_body("acme", [first, second, uuid.uuid4(), "not-a-uuid"]),
        headers=tenant_a.headers,
    )
    assert created.status_code == 200, created.text
    assert own_errors("PaymentRequest", created.json()) == []
    data = created.json()["payment_request"]
    assert (data["amount_cents"], data["amount_currency"]) == (3550, "USD")
    assert (data["payment_status"], data["email"]) == ("succeeded", "ap@acme.test")
    assert data["customer"]["external_id"] == "acme"
    assert sorted(i["lago_id"] for i in data["invoices"]) == sorted([str(first), str(second)])

    # One PaymentIntent at Stripe for the total; each invoice paid by its share.
    intents = await payment_intents_of(localstripe_url, provider_customer)
    assert [(i.amount, i.status) for i in intents] == [(3550, "succeeded")]
    assert intents[0].metadata["lago_payment_request_id"] == data["lago_id"]
    for invoice_id, total in ((first, 1000), (second, 2550)):
        invoice = await invoice_row(sessions, invoice_id)
        assert (invoice.payment_status, invoice.total_paid_amount_cents) == ("succeeded", total)
    payments = await rows(sessions, Payment)
    assert sorted(p.amount_cents for p in payments) == [1000, 2550]
    assert {p.provider_payment_id for p in payments} == {intents[0].id}
    assert {str(p.payment_request_id) for p in payments} == {data["lago_id"]}
    kinds = [w.webhook_type for w in await queued_webhooks(sessions, tenant_a)]
    assert kinds.count("payment_request.created") == 1
    assert kinds.count("payment_request.payment_status_updated") == 1
    assert kinds.count("invoice.payment_status_updated") == 2

    # Receipts: one per succeeded payment, numbered in order.
    receipts = await stripe_http.get("/api/v1/payment_receipts", headers=tenant_a.headers)
    assert lago_errors("PaymentReceiptsPaginated", receipts.json()) == []
    numbers = sorted(r["number"] for r in receipts.json()["payment_receipts"])
    assert [n.rsplit("-", 1)[1] for n in numbers] == ["000001", "000002"]
    assert all("-RCPT-" in n for n in numbers)
    only_second = await stripe_http.get(
        "/api/v1/payment_receipts", params={"invoice_id": str(second)}, headers=tenant_a.headers
    )
    [receipt] = only_second.json()["payment_receipts"]
    assert receipt["payment"]["amount_cents"] == 2550
    found = await stripe_http.get(
        f"/api/v1/payment_receipts/{receipt['lago_id']}", headers=tenant_a.headers
    )
    assert found.status_code == 200
    assert lago_errors("PaymentReceipt", found.json()) == []

    # Read back, listed, filtered, and invisible to another organization.
    shown = await stripe_http.get(
        f"/api/v1/payment_requests/{data['lago_id']}", headers=tenant_a.headers
    )
    assert shown.json()["payment_request"]["payment_status"] == "succeeded"
    assert own_errors("PaymentRequestObject", shown.json()["payment_request"]) == []
    for params, count in (
        ({}, 1),
        ({"external_customer_id": "acme"}, 1),
        ({"external_customer_id": "other"}, 0),
        ({"payment_status": "succeeded"}, 1),
        ({"payment_status": "failed"}, 0),
    ):
        listed = await stripe_http.get(
            "/api/v1/payment_requests", params=params, headers=tenant_a.headers
        )
        assert own_errors("PaymentRequestsPaginated", listed.json()) == []
        assert len(listed.json()["payment_requests"]) == count, params
    scoped = await stripe_http.get(
        "/api/v1/customers/acme/payment_requests", headers=tenant_a.headers
    )
    assert own_errors("PaymentRequestsPaginated", scoped.json()) == []
    assert [r["lago_id"] for r in scoped.json()["payment_requests"]] == [data["lago_id"]]
    bad_status = await stripe_http.get(
        "/api/v1/payment_requests", params={"payment_status": "paid"}, headers=tenant_a.headers
    )
    assert bad_status.status_code == 422
    for path in (
        f"/api/v1/payment_requests/{data['lago_id']}",
        f"/api/v1/payment_receipts/{receipt['lago_id']}",
        "/api/v1/customers/acme/payment_requests",
    ):
        assert (await stripe_http.get(path, headers=tenant_b.headers)).status_code == 404
    assert (
        await stripe_http.get("/api/v1/payment_requests/nope", headers=tenant_a.headers)
    ).json()["code"] == "payment_request_not_found"
    other = await stripe_http.get("/api/v1/payment_requests", headers=tenant_b.headers)
    assert other.json()["payment_requests"] == []
    other_receipts = await stripe_http.get("/api/v1/payment_receipts", headers=tenant_b.headers)
    assert other_receipts.json()["payment_receipts"] == []


async def test_a_declined_payment_request_fails_and_leaves_the_invoices_unpaid(
    stripe_http: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    localstripe_url: str,
    tenant_a: Tenant,
) -> None:
    await listen_to_webhooks(sessions, tenant_a)
    provider_customer = await stripe_customer(localstripe_url, DECLINING_CARD)
    customer_id = await insert_customer(sessions, tenant_a, "acme", provider_customer)
    invoice_id = await insert_invoice(sessions, tenant_a, customer_id, total=1200)
    await overdue(sessions, invoice_id)

    created = await stripe_http.post(
        "/api/v1/payment_requests",
        json=request_body("acme", [invoice_id]),
        headers=tenant_a.headers,
    )
    assert created.status_code == 200, created.text
    assert created.json()["payment_request"]["payment_status"] == "failed"
    invoice = await invoice_row(sessions, invoice_id)
    assert (invoice.payment_status, invoice.total_paid_amount_cents) == ("pending", 0)
    assert await rows(sessions, Payment) == []
    assert await rows(sessions, PaymentReceipt) == []
    [request] = await rows(sessions, PaymentRequest)
    assert request.failure_code == "card_declined"
    kinds = [w.webhook_type for w in await queued_webhooks(sessions, tenant_a)]
    assert "payment_request.payment_failure" in kinds


async def test_a_customer_without_a_provider_keeps_a_pending_request(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    customer_id = await insert_customer(sessions, tenant_a, "acme")
    invoice_id = await insert_invoice(sessions, tenant_a, customer_id, total=700)
    await overdue(sessions, invoice_id)
    created = await client.post(
        "/api/v1/payment_requests",
        json=request_body("acme", [invoice_id]),
        headers=tenant_a.headers,
    )
    assert created.status_code == 200
    body = created.json()["payment_request"]
    assert (body["payment_status"], body["amount_cents"]) == ("pending", 700)
    audit = [
        (a.activity_type, a.resource_type, str(a.resource_id))
        for a in await rows(sessions, ActivityLog)
    ]
    assert audit == [("payment_request.created", "PaymentRequest", body["lago_id"])]
    # A manual payment pays the invoice as usual, with its receipt.
    paid = await client.post(
        "/api/v1/payments",
        json={"payment": {"invoice_id": str(invoice_id), "amount_cents": 700, "reference": "w"}},
        headers=tenant_a.headers,
    )
    assert paid.status_code == 200
    [receipt] = await rows(sessions, PaymentReceipt)
    assert str(receipt.payment_id) == paid.json()["payment"]["lago_id"]


async def test_payment_requests_refuse_bad_input_and_create_nothing(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    tenant_b: Tenant,
) -> None:
    customer_id = await insert_customer(sessions, tenant_a, "acme")
    other_customer = await insert_customer(sessions, tenant_a, "bob")
    due = await insert_invoice(sessions, tenant_a, customer_id, total=500)
    not_yet_due = await insert_invoice(sessions, tenant_a, customer_id, total=500)
    draft = await insert_invoice(sessions, tenant_a, customer_id, total=500, status="draft")
    bobs = await insert_invoice(sessions, tenant_a, other_customer, total=500)
    foreign_customer = await insert_customer(sessions, tenant_b, "acme")
    foreign = await insert_invoice(sessions, tenant_b, foreign_customer, total=500)
    await overdue(sessions, due, bobs, foreign)

    async def post(body: Any, tenant: Tenant = tenant_a) -> httpx.Response:
        return await client.post("/api/v1/payment_requests", json=body, headers=tenant.headers)

    # No email given, and none on the customer to fall back on.
    missing_email = request_body("acme", [due])
    del missing_email["payment_request"]["email"]
    answer = await post(missing_email)
    assert answer.status_code == 422
    assert answer.json()["code"] == "validation_errors"
    assert answer.json()["error_details"] == {"email": ["value_is_mandatory"]}
    invalid_email = await post(request_body("acme", [due], email="nope"))
    assert invalid_email.status_code == 422
    assert "email" in invalid_email.json()["error_details"]
    no_ids = request_body("acme", [])
    del no_ids["payment_request"]["lago_invoice_ids"]
    assert "lago_invoice_ids" in (await post(no_ids)).json()["error_details"]
    empty = await post(request_body("acme", []))
    assert empty.json()["error_details"] == {"lago_invoice_ids": ["value_is_mandatory"]}
    # Lago's not_allowed_failure: 405 with the code.
    for ids in ([due, not_yet_due], [draft]):
        answer = await post(request_body("acme", ids))
        assert answer.json() == {
            "status": 405,
            "error": "Method Not Allowed",
            "code": "invoices_not_overdue",
        }
    unknown_ids: list[list[Any]] = [[bobs], [foreign], [uuid.uuid4()], ["not-a-uuid"]]
    for unknown_id in unknown_ids:
        answer = await post(request_body("acme", unknown_id))
        assert (answer.status_code, answer.json()["code"]) == (404, "invoice_not_found")
    unknown = await post(request_body("nobody", [due]))
    assert (unknown.status_code, unknown.json()["code"]) == (404, "customer_not_found")
    # tenant_b's "acme" cannot ask for tenant_a's invoice.
    crossed = await post(request_body("acme", [due]), tenant_b)
    assert crossed.status_code == 404
    assert await rows(sessions, PaymentRequest) == []
    assert await rows(sessions, ActivityLog) == []


async def test_a_request_stripe_left_processing_is_settled_by_its_webhook(
    client: httpx.AsyncClient,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
) -> None:
    settings.stripe_webhook_secret = SECRET  # read per request
    await listen_to_webhooks(sessions, tenant_a)
    customer_id = await insert_customer(sessions, tenant_a, "acme", "cus_stripe_1")
    first = await insert_invoice(sessions, tenant_a, customer_id, total=1500)
    second = await insert_invoice(sessions, tenant_a, customer_id, total=500)
    async with transaction(sessions) as session:
        request = PaymentRequest(
            organization_id=tenant_a.organization_id,
            customer_id=customer_id,
            email="ap@acme.test",
            amount_cents=2000,
            currency="USD",
            payment_status="pending",
            provider_payment_id="pi_processing_1",
        )
        session.add(request)
        await session.flush()
        await session.execute(
            insert(payment_request_invoices),
            [{"payment_request_id": request.id, "invoice_id": i} for i in (first, second)],
        )
    intent = {"id": "pi_processing_1", "status": "succeeded", "amount_received": 2000}
    body = event("payment_intent.succeeded", intent)
    for _ in range(2):  # a replayed event changes nothing
        answer = await client.post(
            f"/api/v1/webhooks/stripe/{tenant_a.organization_id}",
            content=body,
            headers={"Content-Type": "application/json", "Stripe-Signature": signature(body)},
        )
        assert answer.status_code == 200, answer.text
    [settled] = await rows(sessions, PaymentRequest)
    assert settled.payment_status == "succeeded"
    for invoice_id, total in ((first, 1500), (second, 500)):
        invoice = await invoice_row(sessions, invoice_id)
        assert (invoice.payment_status, invoice.total_paid_amount_cents) == ("succeeded", total)
    payments = await rows(sessions, Payment)
    assert sorted(p.amount_cents for p in payments) == [500, 1500]
    assert len(await rows(sessions, PaymentReceipt)) == 2
    kinds = [w.webhook_type for w in await queued_webhooks(sessions, tenant_a)]
    assert kinds.count("payment_request.payment_status_updated") == 1
