"""Add-on requests."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from bxb.api.schemas.taxes import Code, Name, reject_null
from bxb.api.validation import check_currency

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
