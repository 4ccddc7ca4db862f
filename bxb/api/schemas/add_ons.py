"""Add-on requests and Lago's AddOnObject."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from bxb.api.schemas.taxes import Code, Name, reject_null, tax_object
from bxb.api.serialization import iso
from bxb.api.validation import check_currency
from bxb.models import AddOn, Tax

MAX_BIGINT = 2**63 - 1
Currency = Annotated[str, AfterValidator(check_currency)]
AmountCents = Annotated[int, Field(ge=0, le=MAX_BIGINT)]
DisplayName = Annotated[str, Field(max_length=255)]


class AddOnCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: Name
    code: Code
    amount_cents: AmountCents
    amount_currency: Currency
    invoice_display_name: DisplayName | None = None
    description: str | None = None
    tax_codes: list[Code] | None = None


class AddOnUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: Name | None = None
    code: Code | None = None
    amount_cents: AmountCents | None = None
    amount_currency: Currency | None = None
    invoice_display_name: DisplayName | None = None
    description: str | None = None
    tax_codes: list[Code] | None = None

    @field_validator("name", "code", "amount_cents", "amount_currency", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        return reject_null(value)


class AddOnCreateBody(BaseModel):
    add_on: AddOnCreate


class AddOnUpdateBody(BaseModel):
    add_on: AddOnUpdate


def add_on_object(add_on: AddOn, taxes: Sequence[Tax]) -> dict[str, Any]:
    return {
        "lago_id": str(add_on.id),
        "name": add_on.name,
        "invoice_display_name": add_on.invoice_display_name,
        "code": add_on.code,
        "amount_cents": add_on.amount_cents,
        "amount_currency": add_on.amount_currency,
        "description": add_on.description,
        "created_at": iso(add_on.created_at),
        "taxes": [tax_object(tax) for tax in taxes],
    }
