"""Wallet and wallet transaction requests and their validation.

Credits and rates are decimal strings (JSON numbers are accepted too). Lago features bxb
does not implement (recurring top-up rules, limits by fee type, top-up amount limits,
invoices issued only after payment) are refused with `not_supported` when asked for,
rather than ignored: each would change what the customer is billed.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from bxb.api.schemas.coupons import ExpirationAt
from bxb.billing.money import is_known_currency
from bxb.billing.wallets import CREDIT_DECIMALS, RATE_DECIMALS, parse_credits, parse_rate
from bxb.inputs.bounds import fits
from bxb.models import Wallet, WalletTransaction

Text255 = Annotated[str, Field(min_length=1, max_length=255)]


def _credits(code: str) -> Callable[[object], object]:
    def parse(value: object) -> object:
        if value is None:
            return None
        credits = parse_credits(value)
        if credits is None:
            raise ValueError(code)
        return credits

    return parse


def _rate(value: object) -> object:
    rate = parse_rate(value)
    if rate is None:
        raise ValueError("invalid_rate_amount")
    return rate


def _currency(value: object) -> object:
    if not isinstance(value, str) or not is_known_currency(value):
        raise ValueError("value_is_invalid")
    return value


def _unsupported(value: object) -> object:
    """Accept the absence of a feature (null, false, empty), refuse asking for it."""
    empty = value is None or value is False or value == [] or value == {}
    if isinstance(value, dict) and all(not v for v in value.values()):
        empty = True
    if not empty:
        raise ValueError("not_supported")
    return value


Unsupported = Annotated[Any, AfterValidator(_unsupported)]
# The parsers bound credits and rates to their NUMERIC(30, n) columns; the constraints
# say so to the schema (and can never fail after them).
Credits = Annotated[Decimal, Field(max_digits=30, decimal_places=CREDIT_DECIMALS)]
PaidCredits = Annotated[Credits | None, BeforeValidator(_credits("invalid_paid_credits"))]
GrantedCredits = Annotated[Credits | None, BeforeValidator(_credits("invalid_granted_credits"))]
VoidedCredits = Annotated[Credits | None, BeforeValidator(_credits("invalid_voided_credits"))]
RateAmount = Annotated[
    Decimal, Field(max_digits=30, decimal_places=RATE_DECIMALS), BeforeValidator(_rate)
]
Currency = Annotated[str, Field(max_length=3), BeforeValidator(_currency)]


class _LagoOnlyFeatures(BaseModel):
    model_config = ConfigDict(extra="ignore")

    recurring_transaction_rules: Unsupported = None
    applies_to: Unsupported = None
    invoice_requires_successful_payment: Unsupported = None
    paid_top_up_min_amount_cents: Unsupported = None
    paid_top_up_max_amount_cents: Unsupported = None


class WalletCreate(_LagoOnlyFeatures):
    external_customer_id: Text255
    rate_amount: RateAmount
    currency: Currency
    name: Annotated[str, fits(Wallet.name)] | None = None
    code: Annotated[str, fits(Wallet.code)] | None = None
    paid_credits: PaidCredits = None
    granted_credits: GrantedCredits = None
    expiration_at: ExpirationAt = None
    transaction_name: Annotated[str, fits(WalletTransaction.name)] | None = None


class WalletUpdate(_LagoOnlyFeatures):
    name: Annotated[str, fits(Wallet.name)] | None = None
    code: Annotated[str, fits(Wallet.code)] | None = None
    expiration_at: ExpirationAt = None


class WalletCreateBody(BaseModel):
    wallet: WalletCreate


class WalletUpdateBody(BaseModel):
    wallet: WalletUpdate


class MetadataEntry(BaseModel):
    model_config = ConfigDict(extra="ignore")

    key: Annotated[str, Field(min_length=1, max_length=255)]
    value: Annotated[str, Field(max_length=255)]


class WalletTransactionCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    wallet_id: Text255
    paid_credits: PaidCredits = None
    granted_credits: GrantedCredits = None
    voided_credits: VoidedCredits = None
    name: str | None = Field(default=None, max_length=255)
    metadata: Annotated[list[MetadataEntry] | None, Field(max_length=20)] = None
    invoice_requires_successful_payment: Unsupported = None


class WalletTransactionCreateBody(BaseModel):
    wallet_transaction: WalletTransactionCreate
