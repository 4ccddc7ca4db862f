"""Add-on requests."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, field_validator

from bxb.api.schemas.taxes import Code, Name, reject_null
from bxb.inputs.bounds import Cents, FreeText, fits
from bxb.inputs.validation import Currency
from bxb.models import AddOn

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
