"""Stripe through the official SDK: off-session PaymentIntents on the saved card.

One `StripeClient` per (API key, API base), made on first use, never the SDK's global
state. The SDK's own network retries are off: a request that timed out may have charged,
and retrying belongs to the caller, which first looks for that charge (`find_charge`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from functools import cache
from typing import Any

import stripe

from bxb.payments.provider import (
    ChargeResult,
    CustomerDetails,
    ProviderRefusedError,
    ProviderUnavailableError,
    RefundResult,
)

# How much earlier than our row the provider's clock may date a charge.
CLOCK_SKEW_SECONDS = 300
# PaymentIntent states that will still move without a new charge.
_UNFINISHED = {
    "processing",
    "requires_action",
    "requires_confirmation",
    "requires_capture",
}


@cache
def _client(api_key: str, api_base: str | None) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base} if api_base else None,
        max_network_retries=0,
        http_client=stripe.HTTPXClient(timeout=30),
    )


def object_id(value: Any) -> str | None:
    """An id the API gives either as a string or, when expanded, as an object."""
    if value is None or isinstance(value, str):
        return value
    return str(value.id)


@contextmanager
def _lookups() -> Iterator[None]:
    """Reading from Stripe cannot decline anything: any error is worth a retry."""
    try:
        yield
    except stripe.StripeError as error:
        raise ProviderUnavailableError(f"stripe: {error}") from error


def _error_details(error: stripe.StripeError) -> dict[str, Any]:
    body: Any = error.json_body or {}
    details = body.get("error") if isinstance(body, dict) else None
    return details if isinstance(details, dict) else {}


def _failure(error: stripe.StripeError, default_code: str) -> ChargeResult:
    details = _error_details(error)
    intent = details.get("payment_intent")
    intent_id = intent.get("id") if isinstance(intent, dict) else intent
    return ChargeResult(
        status="failed",
        provider_payment_id=intent_id if isinstance(intent_id, str) else None,
        failure_code=details.get("decline_code") or error.code or default_code,
        failure_message=error.user_message or str(error),
    )


def _transient(error: stripe.StripeError) -> bool:
    if isinstance(
        error,
        stripe.APIConnectionError
        | stripe.RateLimitError
        | stripe.AuthenticationError
        | stripe.PermissionError,
    ):
        return True  # the network, the provider's load or our configuration: not the payer
    return isinstance(error, stripe.APIError) and (error.http_status or 500) >= 500


def intent_result(intent: Mapping[str, Any]) -> ChargeResult:
    """What a PaymentIntent (as a plain dict: API answer or webhook payload) says."""
    status = intent["status"]
    if status == "succeeded":
        return ChargeResult("succeeded", intent["id"])
    if status in _UNFINISHED:
        return ChargeResult("pending", intent["id"])
    error = intent.get("last_payment_error") or {}
    return ChargeResult(
        "failed",
        intent["id"],
        failure_code=error.get("decline_code") or error.get("code") or status,
        failure_message=error.get("message"),
    )


def refund_result(refund: Mapping[str, Any]) -> RefundResult:
    """What a Refund (as a plain dict) says; canceled counts as failed."""
    status = refund.get("status")
    if status == "succeeded":
        return RefundResult("succeeded", refund["id"])
    if status in ("pending", "requires_action"):
        return RefundResult("pending", refund["id"])
    return RefundResult(
        "failed",
        refund["id"],
        failure_code=refund.get("failure_reason") or status or "failed",
        failure_message=f"the refund is {status}",
    )


class StripeProvider:
    name = "stripe"

    def __init__(self, api_key: str, api_base: str | None = None) -> None:
        self._stripe = _client(api_key, api_base).v1

    async def charge(
        self,
        customer: str,
        amount_cents: int,
        currency: str,
        idempotency_key: str,
        metadata: Mapping[str, str],
    ) -> ChargeResult:
        try:
            payment_method = await self._payment_method(customer)
            if payment_method is None:
                return ChargeResult(
                    "failed",
                    failure_code="no_payment_method",
                    failure_message="The customer has no card on file.",
                )
            intent = await self._stripe.payment_intents.create_async(
                {
                    "customer": customer,
                    "amount": amount_cents,
                    "currency": currency.lower(),
                    "payment_method": payment_method,
                    "off_session": True,
                    "confirm": True,
                    "metadata": dict(metadata),
                },
                {"idempotency_key": idempotency_key},
            )
        except stripe.CardError as error:
            declined = _failure(error, "card_declined")
            charge_id = _error_details(error).get("charge")
            if declined.provider_payment_id is None and charge_id:
                # Stripe names the PaymentIntent in the error; localstripe only the charge.
                with _lookups():
                    charge = await self._stripe.charges.retrieve_async(charge_id)
                declined = replace(declined, provider_payment_id=object_id(charge.payment_intent))
            return declined
        except stripe.StripeError as error:
            return self._failed_or_raise(error)
        return intent_result(intent.to_dict())

    async def find_charge(
        self, customer: str, metadata: Mapping[str, str], since: datetime
    ) -> ChargeResult | None:
        params: Any = {
            "customer": customer,
            "created": {"gt": int(since.timestamp()) - CLOCK_SKEW_SECONDS},
            "limit": 100,
        }
        found: ChargeResult | None = None
        with _lookups():
            charges = await self._stripe.charges.list_async(params)
            async for charge in charges.auto_paging_iter():
                intent_id = object_id(charge.payment_intent)
                if intent_id is None:
                    continue  # a charge made without a PaymentIntent: not bxb's
                intent = await self._stripe.payment_intents.retrieve_async(intent_id)
                data = intent.to_dict()
                tags = data.get("metadata") or {}
                if all(tags.get(k) == v for k, v in metadata.items()):
                    found = intent_result(data)
                    if found.status == "succeeded":
                        break
        return found

    async def retrieve(self, provider_payment_id: str) -> ChargeResult:
        with _lookups():
            intent = await self._stripe.payment_intents.retrieve_async(provider_payment_id)
        return intent_result(intent.to_dict())

    async def create_customer(self, details: CustomerDetails, idempotency_key: str) -> str:
        params: Any = {
            "metadata": {
                "lago_customer_id": details.lago_customer_id,
                "customer_id": details.external_id,
            }
        }
        for key in ("name", "email", "phone"):
            if getattr(details, key):
                params[key] = getattr(details, key)
        if details.address:
            params["address"] = dict(details.address)
        try:
            created = await self._stripe.customers.create_async(
                params, {"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as error:
            if _transient(error):
                raise ProviderUnavailableError(f"stripe: {error}") from error
            raise ProviderRefusedError(error.user_message or str(error)) from error
        return str(created.id)

    async def find_customer(
        self, lago_customer_id: str, email: str | None, *, scan_all: bool
    ) -> str | None:
        if not scan_all and not email:
            return None
        params: Any = {"limit": 100} if scan_all else {"email": email, "limit": 100}
        with _lookups():
            page = await self._stripe.customers.list_async(params)
            async for customer in page.auto_paging_iter():
                tags = customer.to_dict().get("metadata") or {}
                if tags.get("lago_customer_id") == lago_customer_id:
                    return str(customer.id)
        return None

    async def _payment_method(self, customer: str) -> str | None:
        """The customer's default card, else the first card attached (a replaced card)."""
        found = await self._stripe.customers.retrieve_async(customer)
        settings = found.invoice_settings
        default = object_id(settings.default_payment_method) if settings else None
        if default:
            return default
        cards = await self._stripe.payment_methods.list_async(
            {"customer": customer, "type": "card", "limit": 1}
        )
        return cards.data[0].id if cards.data else None

    def _failed_or_raise(self, error: stripe.StripeError) -> ChargeResult:
        if _transient(error):
            raise ProviderUnavailableError(f"stripe: {error}") from error
        # A request Stripe refuses (unknown customer, reused key with other parameters...)
        # will be refused again: the attempt failed, and dunning may try later.
        return _failure(error, "invalid_request")

    async def refund(
        self,
        payment_id: str,
        amount_cents: int,
        currency: str,  # Stripe refunds in the PaymentIntent's currency
        idempotency_key: str,
        metadata: Mapping[str, str],
    ) -> RefundResult:
        try:
            refund = await self._stripe.refunds.create_async(
                {"payment_intent": payment_id, "amount": amount_cents, "metadata": dict(metadata)},
                {"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as error:
            if _transient(error):
                raise ProviderUnavailableError(f"stripe: {error}") from error
            # Refused (already refunded, more than what remains, unknown payment...):
            # asking again would be refused again.
            return RefundResult(
                "failed",
                failure_code=_error_details(error).get("code") or error.code or "invalid_request",
                failure_message=error.user_message or str(error),
            )
        return refund_result(refund.to_dict())

    async def find_refund(
        self, payment_id: str, metadata: Mapping[str, str]
    ) -> RefundResult | None:
        with _lookups():
            refunds = await self._stripe.refunds.list_async(
                {"payment_intent": payment_id, "limit": 100}
            )
            async for refund in refunds.auto_paging_iter():
                data = refund.to_dict()
                tags = data.get("metadata") or {}
                if all(tags.get(k) == v for k, v in metadata.items()):
                    return refund_result(data)
        return None
