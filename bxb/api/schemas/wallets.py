"""Wallet and wallet transaction requests and their validation.

Credits and rates are decimal strings (JSON numbers are accepted too). Lago's wallet
options are all served: priority, applies_to (fee types and billable metric codes), paid
top-up limits, invoice_requires_successful_payment, metadata and recurring transaction
rules (bxb.api.schemas.wallet_rules).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool

from bxb.api.schemas.coupons import ExpirationAt
from bxb.billing.money import is_known_currency
from bxb.billing.wallets import CREDIT_DECIMALS, RATE_DECIMALS, parse_credits, parse_rate
from bxb.inputs.bounds import fits
from bxb.ledger.metadata import Metadata
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


Priority = Annotated[int, Field(ge=1, le=50)]
LimitCents = Annotated[int, Field(gt=0, le=2**63 - 1)]


class AppliesTo(BaseModel):
    model_config = ConfigDict(extra="ignore")

    # Checked against Lago's fee types by the service (`invalid_fee_types`).
    fee_types: list[Annotated[str, Field(max_length=32)]] | None = None
    billable_metric_codes: list[Annotated[str, Field(min_length=1, max_length=255)]] | None = None


class MetadataEntry(BaseModel):
    model_config = ConfigDict(extra="ignore")

    key: Annotated[str, Field(min_length=1, max_length=255)]
    value: Annotated[str, Field(max_length=255)]


TransactionMetadata = Annotated[list[MetadataEntry] | None, Field(max_length=20)]


class _WalletOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")

    priority: Priority | None = None
    applies_to: AppliesTo | None = None
    invoice_requires_successful_payment: StrictBool | None = None
    paid_top_up_min_amount_cents: LimitCents | None = None
    paid_top_up_max_amount_cents: LimitCents | None = None
    metadata: Metadata | None = None
    recurring_transaction_rules: list[dict[str, Any]] | None = None


class WalletCreate(_WalletOptions):
    # Optional on /customers/{external_customer_id}/wallets (the path names the customer).
    external_customer_id: Text255 | None = None
    rate_amount: RateAmount
    currency: Currency
    name: Annotated[str, fits(Wallet.name)] | None = None
    code: Annotated[str, fits(Wallet.code)] | None = None
    paid_credits: PaidCredits = None
    granted_credits: GrantedCredits = None
    expiration_at: ExpirationAt = None
    transaction_name: Annotated[str, fits(WalletTransaction.name)] | None = None
    transaction_metadata: TransactionMetadata = None
    ignore_paid_top_up_limits_on_creation: StrictBool | None = None


class WalletUpdate(_WalletOptions):
    name: Annotated[str, fits(Wallet.name)] | None = None
    code: Annotated[str, fits(Wallet.code)] | None = None
    expiration_at: ExpirationAt = None


class WalletCreateForCustomer(WalletCreate):
    """POST /wallets: the body names the customer."""

    external_customer_id: Text255


class WalletCreateBody(BaseModel):
    wallet: WalletCreateForCustomer


class CustomerWalletCreateBody(BaseModel):
    """POST /customers/{external_customer_id}/wallets: the path names the customer."""

    wallet: WalletCreate


class WalletUpdateBody(BaseModel):
    wallet: WalletUpdate


class WalletTransactionCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    wallet_id: Text255
    paid_credits: PaidCredits = None
    granted_credits: GrantedCredits = None
    voided_credits: VoidedCredits = None
    name: str | None = Field(default=None, max_length=255)
    metadata: TransactionMetadata = None
    invoice_requires_successful_payment: StrictBool | None = None
    ignore_paid_top_up_limits: StrictBool | None = None


class WalletTransactionCreateBody(BaseModel):
    wallet_transaction: WalletTransactionCreate
