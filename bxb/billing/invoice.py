"""Invoice assembly: fees → coupons → taxes on what is left → credits → total.

Lago's order: coupons discount the fees (oldest coupon first), taxes apply to the fees'
amounts after discounts (each tax rounded once over the invoice, see taxes), and credits
for unused prepaid days reduce what is due, never below zero. Every figure is an integer
in minor units; each step rounds once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from bxb.billing.coupon_discounts import CouponDiscount, apply_coupons
from bxb.billing.coupons import AppliedCoupon, DiscountableFee
from bxb.billing.taxes import FeeTax, InvoiceTax, Tax, TaxableFee, compute_invoice_taxes


@dataclass(frozen=True)
class FeeDraft:
    key: str
    amount_cents: int
    taxes: tuple[Tax, ...] = ()
    plan_code: str | None = None
    billable_metric_code: str | None = None


@dataclass(frozen=True)
class AssembledFee:
    key: str
    amount_cents: int
    coupons_amount_cents: int
    tax: FeeTax
    precise_coupons_amount_cents: Decimal = Decimal(0)


@dataclass(frozen=True)
class AssembledInvoice:
    fees: tuple[AssembledFee, ...]
    fees_amount_cents: int
    coupons_amount_cents: int
    taxes_amount_cents: int
    taxes_by_code: dict[str, int]
    taxes: tuple[InvoiceTax, ...]
    credit_amount_cents: int
    total_amount_cents: int
    coupons: tuple[CouponDiscount, ...]

    @property
    def sub_total_excluding_taxes_amount_cents(self) -> int:
        return self.fees_amount_cents - self.coupons_amount_cents


def assemble_invoice(
    fees: Sequence[FeeDraft],
    applied_coupons: Sequence[AppliedCoupon],
    *,
    credit_cents: int,
    currency: str,
    at: datetime,
) -> AssembledInvoice:
    """Price an invoice. `credit_cents` (unused prepaid days) is capped at what is due."""
    if credit_cents < 0:
        raise ValueError("credit must not be negative")
    discounts = apply_coupons(
        [DiscountableFee(f.key, f.amount_cents, f.plan_code, f.billable_metric_code) for f in fees],
        applied_coupons,
        currency=currency,
        at=at,
    )
    discount_by_fee = {d.fee_id: d.discount_cents for d in discounts.fees}
    precise_by_fee = {d.fee_id: d.precise_discount_cents for d in discounts.fees}
    taxes = compute_invoice_taxes(
        [
            TaxableFee(
                f.key,
                f.amount_cents - discount_by_fee[f.key],
                f.taxes,
                Decimal(f.amount_cents) - precise_by_fee[f.key],
            )
            for f in fees
        ]
    )
    tax_by_fee = {t.fee_id: t for t in taxes.fees}
    due = discounts.subtotal_after_discounts_cents + taxes.taxes_amount_cents
    credit = min(credit_cents, due)
    return AssembledInvoice(
        fees=tuple(
            AssembledFee(
                f.key,
                f.amount_cents,
                discount_by_fee[f.key],
                tax_by_fee[f.key],
                precise_by_fee[f.key],
            )
            for f in fees
        ),
        fees_amount_cents=discounts.subtotal_cents,
        coupons_amount_cents=discounts.coupons_amount_cents,
        taxes_amount_cents=taxes.taxes_amount_cents,
        taxes_by_code=dict(taxes.amount_cents_by_tax),
        taxes=taxes.taxes,
        credit_amount_cents=credit,
        total_amount_cents=due - credit,
        coupons=discounts.coupons,
    )
