"""A customer's payment methods (Lago's /customers/{id}/payment_methods) synced from
Stripe through the SDK, against localstripe: listed from the cards attached to the Stripe
customer, set as default (Stripe's invoice_settings.default_payment_method, which the
next collection charges), detached."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.api.app import create_app
from bxb.core.settings import Settings
from bxb.models import ActivityLog, PaymentMethod
from bxb.payments.stripe_provider import StripeProvider
from tests.conftest import app_client
from tests.integration.test_payments import insert_customer
from tests.support.auth import Tenant
from tests.support.lago_schema import lago_errors
from tests.support.stripe_cards import API_KEY, GOOD_CARD, add_card, stripe_client, stripe_customer

OTHER_GOOD_CARD = "5555555555554444"


@pytest.fixture
def stripe_settings(settings: Settings, localstripe_url: str) -> Settings:
    return settings.model_copy(
        update={"stripe_api_key": API_KEY, "stripe_api_base": localstripe_url}
    )


@pytest.fixture
async def stripe_http(stripe_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async for c in app_client(create_app(stripe_settings)):
        yield c


async def test_payment_methods_follow_stripe_and_the_default_is_what_gets_charged(
    stripe_http: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    localstripe_url: str,
    tenant_a: Tenant,
    tenant_b: Tenant,
) -> None:
    provider_customer = await stripe_customer(localstripe_url, GOOD_CARD)
    second_card = await add_card(localstripe_url, provider_customer, OTHER_GOOD_CARD, default=False)
    await insert_customer(sessions, tenant_a, "acme", provider_customer)
    base = "/api/v1/customers/acme/payment_methods"

    listed = await stripe_http.get(base, headers=tenant_a.headers)
    assert listed.status_code == 200, listed.text
    assert lago_errors("PaymentMethodsPaginated", listed.json()) == []
    methods = {m["provider_method_id"]: m for m in listed.json()["payment_methods"]}
    assert len(methods) == 2
    assert methods[second_card]["is_default"] is False
    [first_card] = [m for m in methods if m != second_card]
    assert methods[first_card]["is_default"] is True
    assert methods[first_card]["payment_provider_type"] == "stripe"
    assert listed.json()["meta"]["total_count"] == 2
    again = await stripe_http.get(base, headers=tenant_a.headers)  # a sync adds nothing twice
    assert {m["lago_id"] for m in again.json()["payment_methods"]} == {
        m["lago_id"] for m in methods.values()
    }

    second_id = methods[second_card]["lago_id"]
    made_default = await stripe_http.put(
        f"{base}/{second_id}/set_as_default", headers=tenant_a.headers
    )
    assert made_default.status_code == 200, made_default.text
    assert lago_errors("PaymentMethod", made_default.json()) == []
    assert made_default.json()["payment_method"]["is_default"] is True
    v1 = stripe_client(localstripe_url)
    at_stripe = await v1.customers.retrieve_async(provider_customer)
    assert at_stripe.invoice_settings.default_payment_method == second_card
    # Collection charges the new default.
    provider = StripeProvider(API_KEY, localstripe_url)
    charged = await provider.charge(provider_customer, 990, "USD", "pm-test-1", {"t": "1"})
    assert charged.status == "succeeded"
    assert charged.provider_payment_id is not None
    intent = await v1.payment_intents.retrieve_async(charged.provider_payment_id)
    assert intent.payment_method == second_card
    async with sessions() as session:
        flags = {
            row.provider_method_id: row.is_default
            for row in await session.scalars(select(PaymentMethod))
        }
    assert flags == {first_card: False, second_card: True}
    async with sessions() as session:
        audit = [
            (a.activity_type, a.resource_type, a.external_customer_id)
            for a in await session.scalars(select(ActivityLog).order_by(ActivityLog.logged_at))
        ]
    # Methods are part of the customer: the sync and the new default update it.
    assert audit[-1] == ("customer.updated", "Customer", "acme")

    # Another organization sees none of it.
    assert (await stripe_http.get(base, headers=tenant_b.headers)).status_code == 404
    for method in ("put", "delete"):
        path = f"{base}/{second_id}" + ("/set_as_default" if method == "put" else "")
        answer = await stripe_http.request(method.upper(), path, headers=tenant_b.headers)
        assert answer.status_code == 404
    for bad in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        answer = await stripe_http.delete(f"{base}/{bad}", headers=tenant_a.headers)
        assert (answer.status_code, answer.json()["code"]) == (404, "payment_method_not_found")

    first_id = methods[first_card]["lago_id"]
    destroyed = await stripe_http.delete(f"{base}/{first_id}", headers=tenant_a.headers)
    assert destroyed.status_code == 200, destroyed.text
    assert lago_errors("PaymentMethod", destroyed.json()) == []
    remaining = await v1.payment_methods.list_async({"customer": provider_customer, "type": "card"})
    assert [m.id for m in remaining.data] == [second_card]
    after = await stripe_http.get(base, headers=tenant_a.headers)
    assert [m["provider_method_id"] for m in after.json()["payment_methods"]] == [second_card]
    gone = await stripe_http.delete(f"{base}/{first_id}", headers=tenant_a.headers)
    assert gone.status_code == 404


async def test_payment_methods_of_a_customer_outside_stripe_are_empty(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    await insert_customer(sessions, tenant_a, "acme")
    listed = await client.get("/api/v1/customers/acme/payment_methods", headers=tenant_a.headers)
    assert listed.json()["payment_methods"] == []
    assert lago_errors("PaymentMethodsPaginated", listed.json()) == []
    unknown = await client.get("/api/v1/customers/nobody/payment_methods", headers=tenant_a.headers)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "customer_not_found")
    bad_page = await client.get(
        "/api/v1/customers/acme/payment_methods", params={"per_page": 0}, headers=tenant_a.headers
    )
    assert bad_page.status_code == 422
