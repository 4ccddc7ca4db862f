"""Coupon and applied-coupon requests and their validation.

Lago documents `percentage_rate` as a decimal string while its clients send a number; both
are accepted, and it is answered as a string ("10.5"). A coupon's terms are checked by the
pure core (`bxb.billing.coupons.Coupon`), so the API and billing agree on what is valid.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from bxb.api.schemas.taxes import RATE_DECIMALS, Code, Name, reject_null
from bxb.billing.coupons import Coupon as CouponTerms
from bxb.billing.coupons import CouponError, CouponExpiration, CouponFrequency, CouponType
from bxb.inputs.bounds import MAX_INT, FreeText, Instant, SignedCents, fits
from bxb.models import Coupon, Customer

CouponTypeName = Literal["fixed_amount", "percentage"]
FrequencyName = Literal["once", "recurring", "forever"]
ExpirationName = Literal["no_expiration", "time_limit"]


def parse_expiration_at(value: object) -> object:
    """ISO 8601 instant (UTC when no offset), or a bare date meaning the end of that day."""
    if value is None:
        return value
    if not isinstance(value, str):
        raise ValueError("invalid_date")
    try:
        if len(value) == len("2026-01-31"):
            return datetime.combine(date.fromisoformat(value), time(23, 59, 59), UTC)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("invalid_date") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def check_rate_decimals(value: Decimal) -> Decimal:
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > RATE_DECIMALS:
        raise ValueError("value_is_invalid")
    return value


ExpirationAt = Annotated[Instant | None, BeforeValidator(parse_expiration_at)]
# The core refuses a rate above 100 before anything is stored (NUMERIC(10, 5)).
PercentageRate = Annotated[Decimal, AfterValidator(check_rate_decimals)]
Currency = Annotated[str, Field(max_length=3)]  # checked against ISO 4217 by the core
# Only the column's range here: the core checks terms together, reporting every problem.
Periods = Annotated[int, Field(ge=-MAX_INT, le=MAX_INT)]


class AppliesTo(BaseModel):
    model_config = ConfigDict(extra="ignore")

    plan_codes: list[Code] | None = None
    billable_metric_codes: list[Code] | None = None


class CouponCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: Name
    code: Code
    description: FreeText | None = None
    coupon_type: CouponTypeName
    amount_cents: SignedCents | None = None
    amount_currency: Currency | None = None
    percentage_rate: PercentageRate | None = None
    frequency: FrequencyName
    frequency_duration: Periods | None = None
    expiration: ExpirationName
    expiration_at: ExpirationAt = None
    reusable: bool = True
    applies_to: AppliesTo | None = None


class CouponUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: Name | None = None
    code: Code | None = None
    description: FreeText | None = None
    coupon_type: CouponTypeName | None = None
    amount_cents: SignedCents | None = None
    amount_currency: Currency | None = None
    percentage_rate: PercentageRate | None = None
    frequency: FrequencyName | None = None
    frequency_duration: Periods | None = None
    expiration: ExpirationName | None = None
    expiration_at: ExpirationAt = None
    reusable: bool | None = None
    applies_to: AppliesTo | None = None

    @field_validator(
        "name", "code", "coupon_type", "frequency", "expiration", "reusable", mode="before"
    )
    @classmethod
    def _not_null(cls, value: object) -> object:
        return reject_null(value)


class CouponCreateBody(BaseModel):
    coupon: CouponCreate


class CouponUpdateBody(BaseModel):
    coupon: CouponUpdate


class AppliedCouponCreate(BaseModel):
    """Apply a coupon; the optional terms override the coupon's for this customer."""

    model_config = ConfigDict(extra="ignore")

    external_customer_id: Annotated[str, fits(Customer.external_id, min_length=1)]
    coupon_code: Code
    amount_cents: SignedCents | None = None
    amount_currency: Currency | None = None
    percentage_rate: PercentageRate | None = None
    frequency: FrequencyName | None = None
    frequency_duration: Periods | None = None

    def overrides(self, coupon_type: str) -> dict[str, Any]:
        """The overrides that mean something for this coupon type (others are ignored)."""
        names = ["frequency", "frequency_duration"]
        if coupon_type == CouponType.FIXED_AMOUNT:
            names += ["amount_cents", "amount_currency"]
        else:
            names += ["percentage_rate"]
        given = self.model_dump(include=set(names), exclude_none=True)
        return {name: given[name] for name in names if name in given}


class AppliedCouponCreateBody(BaseModel):
    applied_coupon: AppliedCouponCreate


# The coupon columns a request sets; the terms fields are checked together by the core.
TERM_FIELDS = (
    "coupon_type",
    "amount_cents",
    "amount_currency",
    "percentage_rate",
    "frequency",
    "frequency_duration",
    "expiration",
    "expiration_at",
    "reusable",
)


def terms_errors(
    values: dict[str, Any], *, now: datetime, check_future: bool
) -> dict[str, list[str]]:
    """What is wrong with a coupon's terms (empty when valid)."""
    errors: dict[str, list[str]] = {}
    try:
        coupon_terms(values)
    except CouponError as error:
        errors |= error.errors
    expiration_at = values.get("expiration_at")
    time_limited = values["expiration"] == CouponExpiration.TIME_LIMIT
    if check_future and time_limited and expiration_at is not None and expiration_at <= now:
        errors["expiration_at"] = ["invalid_date"]
    return errors


def coupon_terms(values: dict[str, Any]) -> CouponTerms:
    """The core's view of a coupon's terms (raises CouponError when they are invalid)."""
    return CouponTerms(
        code=values.get("code", ""),
        coupon_type=CouponType(values["coupon_type"]),
        frequency=CouponFrequency(values["frequency"]),
        amount_cents=values.get("amount_cents"),
        amount_currency=values.get("amount_currency"),
        percentage_rate=values.get("percentage_rate"),
        frequency_duration=values.get("frequency_duration"),
        expiration=CouponExpiration(values["expiration"]),
        expiration_at=values.get("expiration_at"),
        reusable=values.get("reusable", True),
    )


def normalized_terms(values: dict[str, Any]) -> dict[str, Any]:
    """Clear the fields the coupon's type, frequency and expiration make meaningless."""
    cleared = dict(values)
    if cleared["coupon_type"] == CouponType.FIXED_AMOUNT:
        cleared["percentage_rate"] = None
    else:
        cleared["amount_cents"] = cleared["amount_currency"] = None
    if cleared["frequency"] != CouponFrequency.RECURRING:
        cleared["frequency_duration"] = None
    if cleared["expiration"] == CouponExpiration.NO_EXPIRATION:
        cleared["expiration_at"] = None
    return cleared


def coupon_values(coupon: Coupon) -> dict[str, Any]:
    return {"code": coupon.code} | {name: getattr(coupon, name) for name in TERM_FIELDS}
