"""What bxb needs from a payment provider, whichever it is.

A provider charges a customer it knows by its own id and reports the result in three
words: succeeded, pending (it will tell us later, by webhook) or failed (declined: a
business result that starts dunning). Anything transient (network, rate limit, provider
outage) raises `ProviderUnavailableError` so that the caller's retry policy tries again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

ChargeStatus = Literal["succeeded", "pending", "failed"]


@dataclass(frozen=True)
class ChargeResult:
    status: ChargeStatus
    # The provider's id of the payment (a Stripe PaymentIntent id), when one exists.
    provider_payment_id: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None


@dataclass(frozen=True)
class CustomerDetails:
    """What bxb tells a provider about a customer it creates there."""

    lago_customer_id: str
    external_id: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    # Stripe's address keys (line1, line2, city, state, postal_code, country), set ones only.
    address: Mapping[str, str] | None = None


RefundStatus = Literal["succeeded", "pending", "failed"]


@dataclass(frozen=True)
class RefundResult:
    # pending: accepted, the provider settles it later; failed: refused or failed for good.
    status: RefundStatus
    provider_refund_id: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None


class ProviderUnavailableError(Exception):
    """A transient failure: nothing is known to have happened; try again later."""


class ProviderRefusedError(Exception):
    """The provider refused the request itself (e.g. an invalid email): retrying the same
    request would be refused again."""


class PaymentProvider(Protocol):
    name: str

    async def charge(
        self,
        customer: str,
        amount_cents: int,
        currency: str,
        idempotency_key: str,
        metadata: Mapping[str, str],
    ) -> ChargeResult:
        """Charge the customer's saved payment method off-session, once per key."""
        ...

    async def find_charge(
        self, customer: str, metadata: Mapping[str, str], since: datetime
    ) -> ChargeResult | None:
        """The charge made since `since` whose metadata contains `metadata`, if any.

        Used before charging again for an attempt that may already have reached the
        provider (a crash between the provider's answer and our commit).
        """
        ...

    async def retrieve(self, provider_payment_id: str) -> ChargeResult:
        """The current state of a payment the provider already knows."""
        ...

    async def create_customer(self, details: CustomerDetails, idempotency_key: str) -> str:
        """Create the customer at the provider; its id there. Raises ProviderRefusedError
        when the provider refuses the details."""
        ...

    async def find_customer(
        self, lago_customer_id: str, email: str | None, *, scan_all: bool
    ) -> str | None:
        """The provider's customer created for lago_customer_id, if any (a crash between
        the provider's answer and our commit). Without `scan_all`, only customers with
        `email` are looked at (one cheap query); with it, every customer."""
        ...

    async def refund(
        self,
        payment_id: str,
        amount_cents: int,
        currency: str,
        idempotency_key: str,
        metadata: Mapping[str, str],
    ) -> RefundResult:
        """Give back `amount_cents` of a payment the provider collected, once per key.

        A refusal (already refunded, more than what remains...) is a failed result;
        transient errors raise `ProviderUnavailableError`.
        """
        ...

    async def find_refund(
        self, payment_id: str, metadata: Mapping[str, str]
    ) -> RefundResult | None:
        """The refund of that payment whose metadata contains `metadata`, if any (looked
        up before refunding again after a crash, as `find_charge` for charges)."""
        ...
