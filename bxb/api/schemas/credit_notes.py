"""Credit note requests."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from bxb.inputs.bounds import Cents, FreeText
from bxb.inputs.credit_notes import Reason, RefundStatus

LagoId = Annotated[str, Field(max_length=64)]  # a UUID, parsed by the route


def check_metadata(value: dict[str, str | None]) -> dict[str, str | None]:
    """Lago's limits: keys up to 100 characters, values up to 255."""
    if any(not key or len(key) > 100 for key in value):
        raise ValueError("invalid_key")
    if any(item is not None and len(item) > 255 for item in value.values()):
        raise ValueError("value_is_too_long")
    return value


Metadata = Annotated[dict[str, str | None], AfterValidator(check_metadata)]


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    fee_id: LagoId
    amount_cents: Cents


class EstimateIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    invoice_id: LagoId
    items: list[ItemIn] = Field(min_length=1)


class CreditNoteIn(EstimateIn):
    reason: Reason | None = None
    description: FreeText | None = None
    credit_amount_cents: Cents | None = None
    refund_amount_cents: Cents | None = None
    offset_amount_cents: Cents | None = None
    metadata: Metadata | None = None


class CreditNoteCreateBody(BaseModel):
    credit_note: CreditNoteIn


class CreditNoteEstimateBody(BaseModel):
    credit_note: EstimateIn


class CreditNoteUpdateIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    refund_status: RefundStatus | None = None
    metadata: Metadata | None = None


class CreditNoteUpdateBody(BaseModel):
    credit_note: CreditNoteUpdateIn
