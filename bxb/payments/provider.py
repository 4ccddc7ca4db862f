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


class ProviderUnavailableError(Exception):
    """A transient failure: nothing is known to have happened; try again later."""


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
