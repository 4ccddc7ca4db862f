"""Discounting an invoice's fees with the customer's applied coupons.

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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from bxb.billing.coupons import AppliedCoupon, AppliedCouponStatus, CouponType, DiscountableFee


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
    # Lago's precise_coupons_amount_cents: each coupon spread over its fees unrounded
    # (what taxes are computed on); discount_cents is the same rounded to sum exactly.
    precise_discount_cents: Decimal = field(default=Decimal(0), compare=False)

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
    precise = {fee.fee_id: Decimal(0) for fee in fees}
    results: list[CouponDiscount] = []
    for coupon in sorted(applied_coupons, key=lambda c: (c.created_at, c.id)):
        results.append(_deduct(coupon, fees, remaining, currency, at))
        _spread_precisely(results[-1], fees, precise)
    fee_discounts = tuple(
        FeeDiscount(
            fee.fee_id,
            fee.amount_cents,
            fee.amount_cents - remaining[fee.fee_id],
            precise[fee.fee_id],
        )
        for fee in fees
    )
    subtotal = sum(fee.amount_cents for fee in fees)
    total_discount = sum(result.discount_cents for result in results)
    return InvoiceDiscounts(subtotal, total_discount, fee_discounts, tuple(results))


def _spread_precisely(
    discount: CouponDiscount, fees: Sequence[DiscountableFee], precise: dict[str, Decimal]
) -> None:
    """Lago's precise coupon shares: the coupon's amount × what is left of each fee it
    covers / what is left of them all, unrounded (capped at the fee's amount)."""
    covered = {share.fee_id for share in discount.fee_shares}
    if not discount.discount_cents or not covered:
        return
    left = {f.fee_id: f.amount_cents - precise[f.fee_id] for f in fees if f.fee_id in covered}
    base = sum(left.values(), Decimal(0))
    if base <= 0:
        return
    for fee in fees:
        if fee.fee_id in covered:
            share = Decimal(discount.discount_cents) * left[fee.fee_id] / base
            precise[fee.fee_id] = min(precise[fee.fee_id] + share, Decimal(fee.amount_cents))


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
