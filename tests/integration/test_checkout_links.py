"""Stripe's hosted pages through the unmodified lago-python-client (`invoices.payment_url`,
`customers.checkout_url`), against localstripe as far as it goes.

localstripe (1.15) has no Checkout Sessions: Stripe's SDK gets a 404 for them, which bxb
answers as Lago answers a provider's refusal (422 third_party_error), never a 500. Stripe
out of reach is a 503; Lago's own refusals are 422; another organization gets 404.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from lago_python_client.client import Client
from lago_python_client.exceptions import LagoApiError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.api.app import create_app
from bxb.core.settings import Settings
from bxb.payments.checkout import StripeCheckout
from tests.conftest import app_client
from tests.integration.test_payments import (
    insert_customer,
    insert_invoice,
    invoice_row,
    payments_of,
)
from tests.support.auth import Tenant
from tests.support.ports import free_port
from tests.support.served_api import serving_api
from tests.support.stripe_cards import API_KEY, stripe_client, stripe_customer
from tests.support.stripe_events import SECRET, event, signature


async def call(function: Any, *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(function, *args, **kwargs)


@pytest.fixture
def stripe_settings(temporal_settings: Settings, localstripe_url: str) -> Settings:
    return temporal_settings.model_copy(
        update={"stripe_api_key": API_KEY, "stripe_api_base": localstripe_url}
    )


@pytest.fixture
async def stripe_api(
    stripe_settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[str]:
    """The API on a loopback port, configured for localstripe (for the sync client)."""
    async with serving_api(stripe_settings) as url:
        yield url


async def _customer_and_invoice(
    http: httpx.AsyncClient, tenant: Tenant, external_id: str, provider_customer: str | None
) -> str:
    """A customer (on Stripe when provider_customer is given) and a finalized one-off
    invoice of $12 waiting for payment; the invoice's lago_id."""
    customer: dict[str, Any] = {"external_id": external_id, "currency": "USD"}
    if provider_customer is not None:
        customer["billing_configuration"] = {
            "payment_provider": "stripe",
            "provider_customer_id": provider_customer,
            "sync_with_provider": False,
        }
    headers = tenant.headers
    response = await http.post("/api/v1/customers", json={"customer": customer}, headers=headers)
    assert response.status_code == 200, response.text
    add_on = {"name": "Setup", "code": "setup", "amount_cents": 1200, "amount_currency": "USD"}
    await http.post("/api/v1/add_ons", json={"add_on": add_on}, headers=headers)
    body = {
        "external_customer_id": external_id,
        "currency": "USD",
        "fees": [{"add_on_code": "setup"}],
    }
    response = await http.post("/api/v1/invoices", json={"invoice": body}, headers=headers)
    assert response.status_code == 200, response.text
    invoice: dict[str, Any] = response.json()["invoice"]
    assert (invoice["status"], invoice["total_amount_cents"]) == ("finalized", 1200)
    return str(invoice["lago_id"])


async def test_payment_and_checkout_urls_through_the_lago_client(
    stripe_api: str, localstripe_url: str, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    lago = Client(api_key=tenant_a.api_key, api_url=stripe_api)
    other = Client(api_key=tenant_b.api_key, api_url=stripe_api)
    on_stripe = await stripe_customer(localstripe_url)
    async with httpx.AsyncClient(base_url=stripe_api, timeout=30) as http:
        invoice = await _customer_and_invoice(http, tenant_a, "cus_1", on_stripe)
        unlinked = await _customer_and_invoice(http, tenant_a, "cus_2", None)

        # localstripe stops here: no Checkout Sessions. Lago's answer to a provider's
        # refusal, naming the provider and its message.
        for method, resource in (
            (lago.invoices.payment_url, invoice),
            (lago.customers.checkout_url, "cus_1"),
        ):
            with pytest.raises(LagoApiError) as refused:
                await call(method, resource)
            assert refused.value.status_code == 422
            body = refused.value.response
            assert body["code"] == "third_party_error"
            assert body["error_details"]["third_party"] == "Stripe"
            assert "404" in body["error_details"]["thirdparty_error"]

        # Lago's own refusals: no provider linked.
        for method, resource in (
            (lago.invoices.payment_url, unlinked),
            (lago.customers.checkout_url, "cus_2"),
        ):
            with pytest.raises(LagoApiError) as no_provider:
                await call(method, resource)
            assert no_provider.value.status_code == 422
            assert no_provider.value.response["error_details"] == {
                "base": ["no_linked_payment_provider"]
            }

        # Another organization's key: 404, for the invoice and for the customer.
        for method, resource in (
            (other.invoices.payment_url, invoice),
            (other.customers.checkout_url, "cus_1"),
        ):
            with pytest.raises(LagoApiError) as hidden:
                await call(method, resource)
            assert hidden.value.status_code == 404


async def test_a_paid_invoice_gets_no_page_and_an_unreachable_stripe_is_a_503(
    stripe_settings: Settings,
    localstripe_url: str,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
) -> None:
    on_stripe = await stripe_customer(localstripe_url)
    away = stripe_settings.model_copy(update={"stripe_api_base": f"http://127.0.0.1:{free_port()}"})
    async for http in app_client(create_app(away)):
        invoice = await _customer_and_invoice(http, tenant_a, "cus_1", on_stripe)
        for path in (
            f"/api/v1/invoices/{invoice}/payment_url",
            "/api/v1/customers/cus_1/checkout_url",
        ):
            response = await http.post(path, headers=tenant_a.headers)
            assert response.status_code == 503, response.text
            assert response.json() == {
                "status": 503,
                "error": "Service Unavailable",
                "code": "payment_provider_unavailable",
            }
        paid = {"payment": {"invoice_id": invoice, "amount_cents": 1200, "reference": "wire"}}
        response = await http.post("/api/v1/payments", json=paid, headers=tenant_a.headers)
        assert response.status_code == 200, response.text
        response = await http.post(
            f"/api/v1/invoices/{invoice}/payment_url", headers=tenant_a.headers
        )
        assert response.status_code == 422
        assert response.json()["error_details"] == {
            "base": ["invalid_invoice_status_or_payment_status"]
        }


async def test_a_payment_made_on_an_invoice_page_is_recorded_once(
    client: httpx.AsyncClient,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    tenant_b: Tenant,
) -> None:
    """Stripe's payment_intent.succeeded for a page of POST /invoices/{id}/payment_url
    (metadata as bxb gives the page) pays that invoice, once, and only in its organization."""
    settings.stripe_webhook_secret = SECRET
    customer = await insert_customer(sessions, tenant_a, provider_customer_id="cus_x")
    invoice_id = await insert_invoice(sessions, tenant_a, customer, total=2500)
    metadata = {"lago_invoice_id": str(invoice_id), "payment_type": "one-time"}

    async def deliver(organization: Any, intent: dict[str, Any]) -> None:
        body = event("payment_intent.succeeded", intent)
        response = await client.post(
            f"/api/v1/webhooks/stripe/{organization}",
            content=body,
            headers={"Content-Type": "application/json", "Stripe-Signature": signature(body)},
        )
        assert response.status_code == 200, response.text

    first = {"id": "pi_page_1", "status": "succeeded", "amount_received": 1000}
    # Another organization's endpoint: its invoices only, so nothing.
    await deliver(tenant_b.organization_id, first | {"metadata": metadata})
    assert await payments_of(sessions, invoice_id) == []
    # $10 of $25, delivered twice (Stripe may): counted once.
    for _ in range(2):
        await deliver(tenant_a.organization_id, first | {"metadata": metadata})
    invoice = await invoice_row(sessions, invoice_id)
    assert (invoice.total_paid_amount_cents, invoice.payment_status) == (1000, "pending")
    # The rest on a second page: paid. A third payment finds nothing due: not counted.
    second = {"id": "pi_page_2", "status": "succeeded", "amount_received": 1500}
    await deliver(tenant_a.organization_id, second | {"metadata": metadata})
    await deliver(
        tenant_a.organization_id,
        {"id": "pi_page_3", "status": "succeeded", "amount_received": 500, "metadata": metadata},
    )
    invoice = await invoice_row(sessions, invoice_id)
    assert (invoice.total_paid_amount_cents, invoice.payment_status) == (2500, "succeeded")
    payments = await payments_of(sessions, invoice_id)
    assert [(p.provider_payment_id, p.amount_cents, p.status) for p in payments] == [
        ("pi_page_1", 1000, "succeeded"),
        ("pi_page_2", 1500, "succeeded"),
    ]


async def test_localstripe_setup_intents_go_as_far_as_a_confirmation(localstripe_url: str) -> None:
    """Where localstripe stops for payment methods: a SetupIntent is created for the
    customer and confirmed with a card, but the card is not attached to the customer
    (Stripe attaches it), so the customer still has no payment method to show."""
    checkout = StripeCheckout(API_KEY, localstripe_url)
    customer = await stripe_customer(localstripe_url, card=None)
    assert await checkout.default_payment_method(customer) is None
    intent = await checkout.setup_intent(customer=customer, metadata={"lago_customer_id": "c"})
    assert (intent.status, intent.client_secret.startswith(intent.id)) == (
        "requires_payment_method",
        True,
    )
    v1 = stripe_client(localstripe_url)
    card = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}
    confirmed = await v1.setup_intents.confirm_async(
        intent.id, {"payment_method_data": {"type": "card", "card": card}}
    )
    assert confirmed.status == "succeeded"
    assert await checkout.default_payment_method(customer) is None
    # With a card attached (as Stripe does on confirmation), it is shown.
    await v1.payment_methods.attach_async(str(confirmed.payment_method), {"customer": customer})
    shown = await checkout.default_payment_method(customer)
    assert shown is not None
    assert (shown.brand, shown.last4, shown.exp_year) == ("visa", "4242", 2034)
