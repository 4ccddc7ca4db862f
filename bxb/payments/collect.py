"""One payment attempt for an invoice (STUB: the payments work replaces the body).

The contract the invoice-collection activity relies on:

- `attempt_payment` is idempotent per (invoice, attempt): running it again after a crash
  finds the payment row of that attempt and, at the provider, reuses the idempotency key
  `f"{invoice_id}-{attempt}"`, so one attempt never charges twice.
- It returns an outcome for business results (succeeded, pending at the provider,
  declined, nothing due, no provider configured) and raises for transient failures
  (network, rate limits, provider 5xx) so that Temporal's retry policy retries them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.settings import Settings

PaymentStatus = Literal["succeeded", "pending", "failed", "nothing_due", "no_provider"]


class PaymentOutcome(BaseModel):
    status: PaymentStatus
    payment_id: uuid.UUID | None = None
    # The provider's decline code and message when status is "failed".
    code: str | None = None
    message: str | None = None


async def attempt_payment(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    invoice_id: uuid.UUID,
    attempt: int,
    at: datetime,
) -> PaymentOutcome:
    """Charge what the invoice still owes, once for this attempt number."""
    return PaymentOutcome(status="no_provider")
