"""Coupons: catalog terms, applying one to a customer, and discounting an invoice.

Order on an invoice. Lago deducts several coupons "according to the date on which they
were applied: the coupon that was applied first will be deducted first" (Lago changelog,
"Apply several coupons"); the OpenAPI spec says nothing more, in particular nothing about
fixed-amount coupons going before percentage ones. So: oldest applied coupon first (ties
by applied coupon id), whatever its type, and each coupon discounts what the previous
ones left, so a coupon never discounts more than the remaining subtotal and an invoice
never goes below zero. A percentage coupon takes its rate of that remainder.

Each coupon's discount is spread over the fees it covers in proportion to what is left of
each, in integer minor units by largest remainder, so per-fee discounts sum exactly to the
coupon's discount and taxes can then be computed per fee after discounts.

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


# --- discounting an invoice --------------------------------------------------------------


@dataclass(frozen=True)
class DiscountableFee:
    fee_id: str
    amount_cents: int
    plan_code: str | None = None
    billable_metric_code: str | None = None


@dataclass(frozen=True)
class FeeShare:
    fee_id: str
    amount_cents: int


@dataclass(frozen=True)
class CouponDiscount:
    """One applied coupon on this invoice; ``updated`` is its state afterwards."""

    applied_coupon_id: str
    discount_cents: int
    fee_shares: tuple[FeeShare, ...]
    updated: AppliedCoupon


@dataclass(frozen=True)
class FeeDiscount:
    fee_id: str
    amount_cents: int
    discount_cents: int

    @property
    def amount_after_discount_cents(self) -> int:
        return self.amount_cents - self.discount_cents


@dataclass(frozen=True)
class InvoiceDiscounts:
    subtotal_cents: int
    coupons_amount_cents: int
    fees: tuple[FeeDiscount, ...]
    coupons: tuple[CouponDiscount, ...]

    @property
    def subtotal_after_discounts_cents(self) -> int:
        return self.subtotal_cents - self.coupons_amount_cents


def apply_coupons(
    fees: Sequence[DiscountableFee],
    applied_coupons: Sequence[AppliedCoupon],
    *,
    currency: str,
    at: datetime,
) -> InvoiceDiscounts:
    """Discount an invoice's fees with the customer's applied coupons (see module doc).

    Every applied coupon gets a ``CouponDiscount`` (zero when it does not apply), in the
    order they were deducted. Terminated coupons and fixed-amount coupons in another
    currency are skipped unchanged; coupons expired at ``at`` are skipped and terminated.
    """
    _check_fees(fees)
    remaining = {fee.fee_id: fee.amount_cents for fee in fees}
    results: list[CouponDiscount] = []
    for coupon in sorted(applied_coupons, key=lambda c: (c.created_at, c.id)):
        results.append(_deduct(coupon, fees, remaining, currency, at))
    fee_discounts = tuple(
        FeeDiscount(fee.fee_id, fee.amount_cents, fee.amount_cents - remaining[fee.fee_id])
        for fee in fees
    )
    subtotal = sum(fee.amount_cents for fee in fees)
    total_discount = sum(result.discount_cents for result in results)
    return InvoiceDiscounts(subtotal, total_discount, fee_discounts, tuple(results))


def _check_fees(fees: Sequence[DiscountableFee]) -> None:
    if len({fee.fee_id for fee in fees}) != len(fees):
        raise ValueError("fee ids must be unique")
    if any(fee.amount_cents < 0 for fee in fees):
        raise ValueError("fee amounts cannot be negative")


def _deduct(
    coupon: AppliedCoupon,
    fees: Sequence[DiscountableFee],
    remaining: dict[str, int],
    currency: str,
    at: datetime,
) -> CouponDiscount:
    """Apply one coupon to what previous coupons left, updating ``remaining`` in place."""
    if coupon.status is AppliedCouponStatus.TERMINATED:
        return CouponDiscount(coupon.id, 0, (), coupon)
    if coupon.is_expired(at):
        return CouponDiscount(
            coupon.id, 0, (), replace(coupon, status=AppliedCouponStatus.TERMINATED)
        )
    if coupon.coupon_type is CouponType.FIXED_AMOUNT and coupon.amount_currency != currency:
        return CouponDiscount(coupon.id, 0, (), coupon)
    covered = [fee.fee_id for fee in fees if coupon.covers(fee)]
    base = sum(remaining[fee_id] for fee_id in covered)
    if base == 0:
        return CouponDiscount(coupon.id, 0, (), coupon)
    discount = coupon.discount_for(base)
    shares = split_pro_rata(discount, [remaining[fee_id] for fee_id in covered])
    for fee_id, share in zip(covered, shares, strict=True):
        remaining[fee_id] -= share
    fee_shares = tuple(
        FeeShare(fee_id, share) for fee_id, share in zip(covered, shares, strict=True)
    )
    return CouponDiscount(coupon.id, discount, fee_shares, coupon.after_use(discount))


def split_pro_rata(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` (0 <= total <= Σ weights) in proportion to integer ``weights`` >= 0.

    Exact integer largest-remainder: each share is rounded down, then the leftover units go
    one each to the largest remainders, ties to the earliest weight. Shares sum exactly to
    ``total`` and none exceeds its weight.
    """
    weight_sum = sum(weights)
    if any(weight < 0 for weight in weights) or not 0 <= total <= weight_sum:
        raise ValueError("total must lie between 0 and the sum of the weights")
    if weight_sum == 0:
        return [0] * len(weights)
    quotients = [divmod(total * weight, weight_sum) for weight in weights]
    shares = [quotient for quotient, _ in quotients]
    leftover = total - sum(shares)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-quotients[i][1], i))
    for index in by_remainder[:leftover]:
        shares[index] += 1
    return shares
