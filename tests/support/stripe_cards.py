"""Stripe customers and cards in localstripe, made with the stripe SDK (as a shop would).

localstripe's test cards: GOOD_CARD is always charged; DECLINING_CARD attaches to the
customer but every charge on it is declined (card_declined); REFUSED_CARD
(4000000000000002) is already refused when attached, so it can never be charged.
"""

from __future__ import annotations

from typing import Any

import stripe

GOOD_CARD = "4242424242424242"
DECLINING_CARD = "4000000000000341"
REFUSED_CARD = "4000000000000002"
API_KEY = "sk_test_bxb"


def stripe_client(localstripe_url: str) -> Any:
    """The SDK's v1 services on localstripe."""
    client = stripe.StripeClient(
        API_KEY,
        base_addresses={"api": localstripe_url},
        max_network_retries=0,
        http_client=stripe.HTTPXClient(),
    )
    return client.v1


async def add_card(localstripe_url: str, customer: str, number: str, *, default: bool) -> str:
    """Attach a card to the customer (optionally as its default); its PaymentMethod id."""
    v1 = stripe_client(localstripe_url)
    card = {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"}
    method = await v1.payment_methods.create_async({"type": "card", "card": card})
    await v1.payment_methods.attach_async(method.id, {"customer": customer})
    if default:
        settings = {"default_payment_method": method.id}
        await v1.customers.update_async(customer, {"invoice_settings": settings})
    return str(method.id)


async def stripe_customer(
    localstripe_url: str, card: str | None = GOOD_CARD, *, default: bool = True
) -> str:
    """A Stripe customer with one card (or none); its id."""
    v1 = stripe_client(localstripe_url)
    customer = await v1.customers.create_async({"email": "billing@example.com"})
    if card is not None:
        await add_card(localstripe_url, customer.id, card, default=default)
    return str(customer.id)


async def charges_of(localstripe_url: str, customer: str) -> list[Any]:
    """Every charge localstripe made on the customer (succeeded and failed)."""
    v1 = stripe_client(localstripe_url)
    page = await v1.charges.list_async({"customer": customer, "limit": 100})
    return list(page.data)


async def payment_intents_of(localstripe_url: str, customer: str) -> list[Any]:
    """Every PaymentIntent made for the customer. localstripe can't filter intents by
    customer and the session's localstripe holds every test's, so page through them all."""
    v1 = stripe_client(localstripe_url)
    page = await v1.payment_intents.list_async({"limit": 100})
    return [intent async for intent in page.auto_paging_iter() if intent.customer == customer]
