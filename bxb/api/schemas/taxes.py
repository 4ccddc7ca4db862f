"""Tax requests.

Lago documents `rate` as a decimal string on input, while its clients send a JSON number;
both are accepted. On output `rate` is a JSON number, as Lago answers.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from bxb.inputs.bounds import FreeText, fits
from bxb.models import Tax

Code = Annotated[str, fits(Tax.code, min_length=1)]  # codes of every kind are VARCHAR(255)
Name = Annotated[str, fits(Tax.name, min_length=1)]

# Numeric(10, 5) keeps five decimals; more would be rounded silently by PostgreSQL.
RATE_DECIMALS = 5


def check_rate(value: Decimal) -> Decimal:
    """A tax rate is a percentage: 0 to 100, at most five decimals."""
    if not Decimal(0) <= value <= Decimal(100):
        raise ValueError("value_is_out_of_range")
    if _decimals(value) > RATE_DECIMALS:
        raise ValueError("value_is_invalid")
    return value


def _decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite: pydantic rejects NaN and infinities
    return max(-exponent, 0)


Rate = Annotated[
    Decimal, Field(max_digits=10, decimal_places=RATE_DECIMALS), AfterValidator(check_rate)
]


class TaxCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: Name
    code: Code
    rate: Rate
    description: FreeText | None = None
    applied_to_organization: bool = False


class TaxUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: Name | None = None
    code: Code | None = None
    rate: Rate | None = None
    description: FreeText | None = None
    applied_to_organization: bool | None = None

    @field_validator("name", "code", "rate", "applied_to_organization", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        return reject_null(value)


def reject_null(value: object) -> object:
    """Partial updates may omit a required field, not set it to null."""
    if value is None:
        raise ValueError("value_is_mandatory")
    return value


class TaxCreateBody(BaseModel):
    tax: TaxCreate


class TaxUpdateBody(BaseModel):
    tax: TaxUpdate
