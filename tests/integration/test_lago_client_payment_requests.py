"""The unmodified lago-python-client on payment requests, payment receipts, a customer's
payment methods and a customer's invoices, payments, subscriptions and payment requests,
against bxb served on loopback with localstripe behind it.

The client's `find_all` of a customer's children (FindAllChildrenCommandMixin: customer
invoices, payments, subscriptions, payment requests, payment methods, credit notes...)
sends no Authorization header (lago-python-client 1.x), so Lago answers it 401, and so
does bxb: the test pins that, and reads those lists over HTTP with the key.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from lago_python_client.client import Client
from lago_python_client.exceptions import LagoApiError
from lago_python_client.models.payment_request import PaymentRequest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.settings import Settings
from tests.integration.test_payment_requests import overdue
from tests.integration.test_payments import insert_customer, insert_invoice, invoice_row
from tests.support.auth import Tenant
from tests.support.served_api import serving_api
from tests.support.stripe_cards import API_KEY, add_card, stripe_customer


async def call(function: Any, *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(function, *args, **kwargs)


@pytest.fixture
async def stripe_api(
    settings: Settings, localstripe_url: str, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[str]:
    configured = settings.model_copy(
        update={"stripe_api_key": API_KEY, "stripe_api_base": localstripe_url}
    )
    async with serving_api(configured) as url:
        yield url


async def test_lago_client_drives_payment_requests_receipts_and_payment_methods(
    stripe_api: str,
    sessions: async_sessionmaker[AsyncSession],
    localstripe_url: str,
    tenant_a: Tenant,
) -> None:
    lago = Client(api_key=tenant_a.api_key, api_url=stripe_api)
    provider_customer = await stripe_customer(localstripe_url)
    spare = await add_card(localstripe_url, provider_customer, "5555555555554444", default=False)
    customer_id = await insert_customer(sessions, tenant_a, "acme", provider_customer)
    invoice_id = await insert_invoice(sessions, tenant_a, customer_id, total=4200)
    await overdue(sessions, invoice_id)

    # The payment methods list syncs with Stripe (localstripe, a process on the same busy
    # cores): a full run once took over httpx's default 5 s. This test asserts outcomes.
    http = httpx.AsyncClient(base_url=f"{stripe_api}/api/v1", headers=tenant_a.headers, timeout=60)

    async def children(path: str) -> list[dict[str, Any]]:
        answer = await http.get(f"/customers/acme/{path}")
        assert answer.status_code == 200, answer.text
        rows: list[dict[str, Any]] = answer.json()[path]
        return rows

    for child in (
        lago.customer_payment_methods,
        lago.customer_invoices,
        lago.customer_payments,
        lago.customer_subscriptions,
        lago.customer_payment_requests,
    ):
        with pytest.raises(LagoApiError) as unsigned:
            await call(child.find_all, "acme")
        assert unsigned.value.status_code == 401

    methods = await children("payment_methods")
    assert len(methods) == 2
    spare_method = next(m for m in methods if m["provider_method_id"] == spare)
    assert spare_method["is_default"] is False
    made_default = await call(
        lago.customer_payment_methods.set_as_default, "acme", spare_method["lago_id"]
    )
    assert (made_default.lago_id, made_default.is_default) == (spare_method["lago_id"], True)
    other = next(m for m in methods if m["provider_method_id"] != spare)
    destroyed = await call(lago.customer_payment_methods.destroy, "acme", other["lago_id"])
    assert destroyed.lago_id == other["lago_id"]
    assert [m["provider_method_id"] for m in await children("payment_methods")] == [spare]
    with pytest.raises(LagoApiError) as gone:
        await call(lago.customer_payment_methods.destroy, "acme", other["lago_id"])
    assert gone.value.status_code == 404

    created = await call(
        lago.payment_requests.create,
        PaymentRequest(
            email="ap@acme.test", external_customer_id="acme", lago_invoice_ids=[str(invoice_id)]
        ),
    )
    assert (created.amount_cents, created.amount_currency) == (4200, "USD")
    assert created.payment_status == "succeeded"
    invoice = await invoice_row(sessions, invoice_id)
    assert (invoice.payment_status, invoice.total_paid_amount_cents) == ("succeeded", 4200)
    found = await call(lago.payment_requests.find, created.lago_id)
    assert found.lago_id == created.lago_id
    listed = await call(lago.payment_requests.find_all, {"external_customer_id": "acme"})
    assert [r.lago_id for r in listed["payment_requests"]] == [created.lago_id]
    assert [r["lago_id"] for r in await children("payment_requests")] == [created.lago_id]

    receipts = await call(lago.payment_receipts.find_all, {"invoice_id": str(invoice_id)})
    [receipt] = receipts["payment_receipts"]
    assert receipt.payment.amount_cents == 4200
    assert (await call(lago.payment_receipts.find, receipt.lago_id)).number == receipt.number

    assert [i["lago_id"] for i in await children("invoices")] == [str(invoice_id)]
    assert [p["amount_cents"] for p in await children("payments")] == [4200]
    assert await children("subscriptions") == []
    await http.aclose()

    with pytest.raises(LagoApiError) as bad:
        await call(
            lago.payment_requests.create,
            PaymentRequest(email="ap@acme.test", external_customer_id="acme", lago_invoice_ids=[]),
        )
    assert bad.value.status_code == 422
