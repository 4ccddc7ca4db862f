"""Add-on requests and Lago's AddOnObject."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, field_validator

from bxb.api.schemas.bounds import Cents, FreeText, fits
from bxb.api.schemas.taxes import Code, Name, reject_null, tax_object
from bxb.api.serialization import iso
from bxb.api.validation import Currency
from bxb.models import AddOn, Tax

DisplayName = Annotated[str, fits(AddOn.invoice_display_name)]


class AddOnCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: Name
    code: Code
    amount_cents: Cents
    amount_currency: Currency
    invoice_display_name: DisplayName | None = None
    description: FreeText | None = None
    tax_codes: list[Code] | None = None


class AddOnUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: Name | None = None
    code: Code | None = None
    amount_cents: Cents | None = None
    amount_currency: Currency | None = None
    invoice_display_name: DisplayName | None = None
    description: FreeText | None = None
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
