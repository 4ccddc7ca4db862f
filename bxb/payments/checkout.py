"""Stripe's hosted pages and payment-method setup, through the official SDK.

- An invoice's payment URL (Lago's `POST /invoices/{id}/payment_url`): a Checkout Session
  in `payment` mode for what the invoice still owes, its PaymentIntent tagged with the
  invoice (`lago_invoice_id`, as Lago does).
- A customer's checkout URL (Lago's `POST /customers/{id}/checkout_url`): a Checkout
  Session in `setup` mode, to register a payment method.
- A SetupIntent (the portal): its `client_secret` lets Stripe.js collect a card on the
  customer's own page; and the customer's default payment method, for display.

Stripe refusing the request (an unknown customer, a parameter it rejects, a route it does
not have: localstripe has no Checkout Sessions) raises `ProviderRefusedError`; the
network, Stripe's own errors, its rate limit or our key raise `ProviderUnavailableError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

import stripe

from bxb.core.settings import Settings
from bxb.ledger.amounts import amount_due
from bxb.models import Customer, Invoice
from bxb.payments.provider import ProviderRefusedError, ProviderUnavailableError
from bxb.payments.stripe_provider import _client, _transient, object_id


@dataclass(frozen=True)
class SetupIntent:
    id: str
    client_secret: str
    status: str


@dataclass(frozen=True)
class PaymentMethod:
    id: str
    type: str
    brand: str | None
    last4: str | None
    exp_month: int | None
    exp_year: int | None


def _raise(error: stripe.StripeError) -> NoReturn:
    if _transient(error):
        raise ProviderUnavailableError(f"stripe: {error}") from error
    raise ProviderRefusedError(error.user_message or str(error)) from error


class StripeCheckout:
    def __init__(self, api_key: str, api_base: str | None = None) -> None:
        self._stripe = _client(api_key, api_base).v1

    async def invoice_payment_url(
        self,
        *,
        customer: str,
        amount_cents: int,
        currency: str,
        name: str,
        success_url: str,
        metadata: Mapping[str, str],
        idempotency_key: str,
    ) -> str:
        params: Any = {
            "mode": "payment",
            "customer": customer,
            "success_url": success_url,
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": currency.lower(),
                        "unit_amount": amount_cents,
                        "product_data": {"name": name},
                    },
                }
            ],
            "payment_intent_data": {"metadata": dict(metadata)},
            "metadata": dict(metadata),
        }
        try:
            session = await self._stripe.checkout.sessions.create_async(
                params, {"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as error:
            _raise(error)
        return str(session.url)

    async def setup_url(self, *, customer: str, success_url: str) -> str:
        params: Any = {
            "mode": "setup",
            "customer": customer,
            "success_url": success_url,
            "payment_method_types": ["card"],
        }
        try:
            session = await self._stripe.checkout.sessions.create_async(params)
        except stripe.StripeError as error:
            _raise(error)
        return str(session.url)

    async def setup_intent(self, *, customer: str, metadata: Mapping[str, str]) -> SetupIntent:
        params: Any = {
            "customer": customer,
            "usage": "off_session",
            "payment_method_types": ["card"],
            "metadata": dict(metadata),
        }
        try:
            intent = await self._stripe.setup_intents.create_async(params)
        except stripe.StripeError as error:
            _raise(error)
        return SetupIntent(str(intent.id), str(intent.client_secret), str(intent.status))

    async def default_payment_method(self, customer: str) -> PaymentMethod | None:
        """The card charges use: the customer's default, else the first card attached
        (as `StripeProvider.charge` chooses)."""
        try:
            found = await self._stripe.customers.retrieve_async(customer)
            settings = found.invoice_settings
            default = object_id(settings.default_payment_method) if settings else None
            if default:
                method = await self._stripe.payment_methods.retrieve_async(default)
            else:
                cards = await self._stripe.payment_methods.list_async(
                    {"customer": customer, "type": "card", "limit": 1}
                )
                if not cards.data:
                    return None
                method = cards.data[0]
        except stripe.StripeError as error:
            _raise(error)
        data = method.to_dict()
        card = data.get("card") or {}
        return PaymentMethod(
            id=str(data["id"]),
            type=str(data.get("type") or "card"),
            brand=card.get("brand"),
            last4=card.get("last4"),
            exp_month=card.get("exp_month"),
            exp_year=card.get("exp_year"),
        )


# --- What bxb asks of Stripe for a customer or an invoice ---------------------------------


class CheckoutNotPossibleError(Exception):
    """A request Lago refuses before asking the provider: `code` is Lago's error code
    (a 422 on `field`)."""

    def __init__(self, code: str, field: str = "base") -> None:
        super().__init__(code)
        self.code = code
        self.field = field


def _checkout(settings: Settings, customer: Customer) -> tuple[StripeCheckout, str]:
    if customer.payment_provider is None:
        raise CheckoutNotPossibleError("no_linked_payment_provider")
    if customer.payment_provider != "stripe":
        raise CheckoutNotPossibleError("invalid_payment_provider")
    if settings.stripe_api_key is None:
        raise CheckoutNotPossibleError("missing_payment_provider")
    if not customer.provider_customer_id:
        raise CheckoutNotPossibleError("missing_payment_provider_customer")
    return StripeCheckout(settings.stripe_api_key, settings.stripe_api_base), (
        customer.provider_customer_id
    )


async def invoice_payment_url(settings: Settings, customer: Customer, invoice: Invoice) -> str:
    """A hosted Stripe page paying what the invoice still owes (Lago refuses drafts, voided
    and paid invoices: invalid_invoice_status_or_payment_status)."""
    due = amount_due(invoice)
    if invoice.status != "finalized" or invoice.payment_status == "succeeded" or due <= 0:
        raise CheckoutNotPossibleError("invalid_invoice_status_or_payment_status")
    checkout, provider_customer = _checkout(settings, customer)
    return await checkout.invoice_payment_url(
        customer=provider_customer,
        amount_cents=due,
        currency=invoice.currency,
        name=invoice.number or str(invoice.id),
        success_url=settings.stripe_success_url,
        metadata={
            "lago_customer_id": str(customer.id),
            "lago_invoice_id": str(invoice.id),
            "invoice_issuing_date": invoice.issuing_date.isoformat(),
            "invoice_type": invoice.invoice_type,
            "payment_type": "one-time",
        },
        # One page per invoice and amount owed (Stripe keeps keys for 24 hours).
        idempotency_key=f"bxb-payment-url-{invoice.id}-{due}",
    )


async def customer_checkout_url(settings: Settings, customer: Customer) -> str:
    checkout, provider_customer = _checkout(settings, customer)
    return await checkout.setup_url(
        customer=provider_customer, success_url=settings.stripe_success_url
    )


async def customer_setup_intent(settings: Settings, customer: Customer) -> SetupIntent:
    checkout, provider_customer = _checkout(settings, customer)
    return await checkout.setup_intent(
        customer=provider_customer, metadata={"lago_customer_id": str(customer.id)}
    )


async def customer_payment_method(settings: Settings, customer: Customer) -> PaymentMethod | None:
    checkout, provider_customer = _checkout(settings, customer)
    return await checkout.default_payment_method(provider_customer)
