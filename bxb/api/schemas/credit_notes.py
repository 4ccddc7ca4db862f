"""Credit note requests."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from bxb.inputs.bounds import Cents, FreeText
from bxb.inputs.credit_notes import Reason, RefundStatus
from bxb.ledger.metadata import Metadata

LagoId = Annotated[str, Field(max_length=64)]  # a UUID, parsed by the route


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
