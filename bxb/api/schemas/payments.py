"""Payment requests."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from bxb.inputs.bounds import Instant, SignedCents


def parse_paid_at(value: Any) -> datetime | None:
    """Lago sends a date ("2025-02-20"); a full ISO 8601 instant is accepted too."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("invalid_date")
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(), tzinfo=UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("invalid_date") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class ManualPaymentIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    invoice_id: Annotated[str, Field(max_length=64)]
    amount_cents: SignedCents  # the route refuses what is not positive
    reference: Annotated[str, Field(min_length=1, max_length=40)]
    paid_at: Annotated[Instant | None, BeforeValidator(parse_paid_at)] = None


class ManualPaymentBody(BaseModel):
    payment: ManualPaymentIn


class PaymentRequestIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    external_customer_id: Annotated[str, Field(min_length=1, max_length=255)]
    # Lago falls back to the customer's email.
    email: Annotated[
        str | None, Field(min_length=3, max_length=255, pattern=r"^[^@\s]+@[^@\s]+$")
    ] = None
    lago_invoice_ids: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=100)]


class PaymentRequestBody(BaseModel):
    payment_request: PaymentRequestIn
