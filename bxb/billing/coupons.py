"""Coupons: catalog terms and applying one to a customer (discounting an invoice with
them is in coupon_discounts).

A coupon is consumed (a ``once`` coupon used up, a ``recurring`` period counted) only when
it actually meets a non-zero amount it applies to; a fixed ``once`` coupon larger than the
invoice keeps the rest in ``amount_cents_remaining`` for the next invoices.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from bxb.billing.money import is_known_currency, round_minor


class CouponType(StrEnum):
    FIXED_AMOUNT = "fixed_amount"
    PERCENTAGE = "percentage"


class CouponFrequency(StrEnum):
    ONCE = "once"
    RECURRING = "recurring"
    FOREVER = "forever"


class CouponExpiration(StrEnum):
    NO_EXPIRATION = "no_expiration"
    TIME_LIMIT = "time_limit"


class AppliedCouponStatus(StrEnum):
    ACTIVE = "active"
    TERMINATED = "terminated"


class CouponError(ValueError):
    """Invalid coupon data; ``errors`` maps field → Lago-style error codes."""

    def __init__(self, errors: Mapping[str, Sequence[str]]) -> None:
        self.errors: dict[str, list[str]] = {key: list(codes) for key, codes in errors.items()}
        super().__init__(f"invalid coupon: {self.errors}")


def _terms_errors(
    coupon_type: CouponType,
    frequency: CouponFrequency,
    amount_cents: int | None,
    amount_currency: str | None,
    percentage_rate: Decimal | None,
    frequency_duration: int | None,
) -> dict[str, list[str]]:
    """What a coupon needs for its type and frequency (shared by Coupon and AppliedCoupon)."""
    errors: dict[str, list[str]] = {}
    if coupon_type is CouponType.FIXED_AMOUNT:
        if amount_cents is None:
            errors["amount_cents"] = ["value_is_mandatory"]
        elif isinstance(amount_cents, bool) or amount_cents <= 0:
            errors["amount_cents"] = ["value_is_invalid"]
        if amount_currency is None:
            errors["amount_currency"] = ["value_is_mandatory"]
        elif not is_known_currency(amount_currency):
            errors["amount_currency"] = ["value_is_invalid"]
    elif percentage_rate is None:
        errors["percentage_rate"] = ["value_is_mandatory"]
    elif not percentage_rate.is_finite() or not 0 <= percentage_rate <= 100:
        errors["percentage_rate"] = ["value_is_out_of_range"]
    if frequency is CouponFrequency.RECURRING:
        if frequency_duration is None:
            errors["frequency_duration"] = ["value_is_mandatory"]
        elif frequency_duration < 1:
            errors["frequency_duration"] = ["value_is_invalid"]
    return errors


@dataclass(frozen=True)
class Coupon:
    """A coupon of the catalog. Empty ``plan_codes`` / ``billable_metric_codes``: no limit."""

    code: str
    coupon_type: CouponType
    frequency: CouponFrequency
    amount_cents: int | None = None
    amount_currency: str | None = None
    percentage_rate: Decimal | None = None
    frequency_duration: int | None = None
    expiration: CouponExpiration = CouponExpiration.NO_EXPIRATION
    expiration_at: datetime | None = None
    reusable: bool = True
    plan_codes: frozenset[str] = frozenset()
    billable_metric_codes: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        errors = _terms_errors(
            self.coupon_type,
            self.frequency,
            self.amount_cents,
            self.amount_currency,
            self.percentage_rate,
            self.frequency_duration,
        )
        if self.expiration is CouponExpiration.TIME_LIMIT and self.expiration_at is None:
            errors["expiration_at"] = ["value_is_mandatory"]
        if errors:
            raise CouponError(errors)

    def is_expired(self, at: datetime) -> bool:
        """Expired once ``at`` is past ``expiration_at`` (the coupon is valid up to it)."""
        return self.expiration_at is not None and at > self.expiration_at


@dataclass(frozen=True)
class DiscountableFee:
    """A fee as a coupon sees it: what it covers depends on the plan or metric."""

    fee_id: str
    amount_cents: int
    plan_code: str | None = None
    billable_metric_code: str | None = None


@dataclass(frozen=True)
class AppliedCoupon:
    """A coupon applied to a customer, with its own (possibly overridden) terms and state.

    ``amount_cents_remaining`` is what a fixed ``once`` coupon still has to give;
    ``frequency_duration_remaining`` the periods a ``recurring`` one still covers.
    """

    id: str
    coupon_code: str
    coupon_type: CouponType
    frequency: CouponFrequency
    created_at: datetime
    amount_cents: int | None = None
    amount_currency: str | None = None
    percentage_rate: Decimal | None = None
    frequency_duration: int | None = None
    frequency_duration_remaining: int | None = None
    amount_cents_remaining: int | None = None
    expiration_at: datetime | None = None
    status: AppliedCouponStatus = AppliedCouponStatus.ACTIVE
    plan_codes: frozenset[str] = field(default_factory=frozenset)
    billable_metric_codes: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        errors = _terms_errors(
            self.coupon_type,
            self.frequency,
            self.amount_cents,
            self.amount_currency,
            self.percentage_rate,
            self.frequency_duration,
        )
        if errors:
            raise CouponError(errors)

    def is_expired(self, at: datetime) -> bool:
        return self.expiration_at is not None and at > self.expiration_at

    def covers(self, fee: DiscountableFee) -> bool:
        """Lago's limits: to fees of some plans and/or of some billable metrics."""
        if not self.plan_codes and not self.billable_metric_codes:
            return True
        return fee.plan_code in self.plan_codes or (
            fee.billable_metric_code in self.billable_metric_codes
        )

    def discount_for(self, base_cents: int) -> int:
        """Discount on ``base_cents`` (> 0) of covered amount, never more than it."""
        if self.coupon_type is CouponType.PERCENTAGE:
            assert self.percentage_rate is not None
            return min(round_minor(base_cents * self.percentage_rate.scaleb(-2)), base_cents)
        assert self.amount_cents is not None
        available = self.amount_cents
        if self.frequency is CouponFrequency.ONCE and self.amount_cents_remaining is not None:
            available = self.amount_cents_remaining
        return min(available, base_cents)

    def after_use(self, discount_cents: int) -> AppliedCoupon:
        """State after being applied to one invoice with ``discount_cents`` of discount."""
        if self.frequency is CouponFrequency.FOREVER:
            return self
        if self.frequency is CouponFrequency.RECURRING:
            periods = self.frequency_duration_remaining
            if periods is None:
                periods = self.frequency_duration
            assert periods is not None
            left = max(periods - 1, 0)
            return replace(self, frequency_duration_remaining=left, status=_status(left == 0))
        if self.coupon_type is CouponType.PERCENTAGE:
            return replace(self, status=AppliedCouponStatus.TERMINATED)
        available = self.amount_cents_remaining
        if available is None:
            available = self.amount_cents
        assert available is not None
        remaining = max(available - discount_cents, 0)
        return replace(self, amount_cents_remaining=remaining, status=_status(remaining == 0))


def _status(terminated: bool) -> AppliedCouponStatus:
    return AppliedCouponStatus.TERMINATED if terminated else AppliedCouponStatus.ACTIVE


def apply_coupon(
    coupon: Coupon,
    *,
    applied_coupon_id: str,
    at: datetime,
    customer_coupon_codes: Collection[str] = (),
    overrides: Mapping[str, Any] | None = None,
) -> AppliedCoupon:
    """Apply a catalog coupon to a customer, as of ``at``.

    ``customer_coupon_codes`` are the codes already applied to this customer (any status):
    a coupon that is not ``reusable`` cannot be applied twice. ``overrides`` may replace
    the terms Lago lets an applied coupon override: ``amount_cents``, ``amount_currency``,
    ``percentage_rate``, ``frequency``, ``frequency_duration``.
    """
    if coupon.is_expired(at):
        raise CouponError({"coupon": ["coupon_is_expired"]})
    if not coupon.reusable and coupon.code in customer_coupon_codes:
        raise CouponError({"coupon": ["coupon_is_not_reusable"]})
    terms: dict[str, Any] = {
        "amount_cents": coupon.amount_cents,
        "amount_currency": coupon.amount_currency,
        "percentage_rate": coupon.percentage_rate,
        "frequency": coupon.frequency,
        "frequency_duration": coupon.frequency_duration,
    }
    unknown = set(overrides or {}) - set(terms)
    if unknown:
        raise CouponError({key: ["value_is_invalid"] for key in sorted(unknown)})
    terms.update(overrides or {})
    if terms["percentage_rate"] is not None:
        try:
            terms["percentage_rate"] = Decimal(str(terms["percentage_rate"]))
        except InvalidOperation:
            raise CouponError({"percentage_rate": ["value_is_invalid"]}) from None
    try:
        frequency = CouponFrequency(terms["frequency"])
    except ValueError:
        raise CouponError({"frequency": ["value_is_invalid"]}) from None
    is_fixed_once = coupon.coupon_type is CouponType.FIXED_AMOUNT and (
        frequency is CouponFrequency.ONCE
    )
    recurring = frequency is CouponFrequency.RECURRING
    return AppliedCoupon(
        id=applied_coupon_id,
        coupon_code=coupon.code,
        coupon_type=coupon.coupon_type,
        frequency=frequency,
        created_at=at,
        amount_cents=terms["amount_cents"],
        amount_currency=terms["amount_currency"],
        percentage_rate=terms["percentage_rate"],
        frequency_duration=terms["frequency_duration"] if recurring else None,
        frequency_duration_remaining=terms["frequency_duration"] if recurring else None,
        amount_cents_remaining=terms["amount_cents"] if is_fixed_once else None,
        expiration_at=coupon.expiration_at,
        plan_codes=coupon.plan_codes,
        billable_metric_codes=coupon.billable_metric_codes,
    )
