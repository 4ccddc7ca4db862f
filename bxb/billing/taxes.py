"""Taxes on fees, computed after coupons, rounded once per fee.

Which taxes apply to a fee follows Lago's precedence: the charge's own taxes, else the
plan's, else the customer's, else the organization's default taxes. A fee's tax is
``round_half_up(amount after discounts × Σ rates / 100)``: one rounding for all its taxes
together, so adding a 0 % tax or splitting a rate never changes what the customer pays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from bxb.billing.money import round_minor

_ZERO = Decimal(0)


@dataclass(frozen=True)
class Tax:
    code: str
    rate: Decimal  # percent: Decimal("20") is 20 %

    def __post_init__(self) -> None:
        if not isinstance(self.rate, Decimal) or not self.rate.is_finite() or self.rate < 0:
            raise ValueError(f"tax {self.code!r}: rate must be a finite Decimal >= 0")


def resolve_applicable_taxes(
    *,
    charge_taxes: Sequence[Tax] = (),
    plan_taxes: Sequence[Tax] = (),
    customer_taxes: Sequence[Tax] = (),
    organization_taxes: Sequence[Tax] = (),
) -> tuple[Tax, ...]:
    """The first non-empty level wins: charge > plan > customer > organization defaults.

    Levels replace each other, they do not add up: a charge taxed at 5 % is not also
    taxed at the plan's 20 %. For fees without a charge or plan (add-ons), pass the levels
    that exist.
    """
    for level in (charge_taxes, plan_taxes, customer_taxes, organization_taxes):
        if level:
            return tuple(level)
    return ()


@dataclass(frozen=True)
class AppliedTax:
    """One tax's share of a fee's tax; shares sum exactly to the fee's tax amount."""

    code: str
    rate: Decimal
    amount_cents: int


@dataclass(frozen=True)
class FeeTax:
    fee_id: str
    taxable_amount_cents: int
    taxes_rate: Decimal
    taxes_amount_cents: int
    applied_taxes: tuple[AppliedTax, ...]


@dataclass(frozen=True)
class TaxableFee:
    fee_id: str
    amount_cents: int  # after coupons
    taxes: tuple[Tax, ...]


@dataclass(frozen=True)
class InvoiceTaxes:
    fees: tuple[FeeTax, ...]
    taxes_amount_cents: int
    amount_cents_by_tax: dict[str, int]


def compute_fee_tax(fee: TaxableFee) -> FeeTax:
    """Tax of one fee, rounded once half-up; split per tax so the shares sum exactly."""
    if fee.amount_cents < 0:
        raise ValueError(f"fee {fee.fee_id!r}: taxable amount cannot be negative")
    total_rate = sum((tax.rate for tax in fee.taxes), _ZERO)
    exact = Decimal(fee.amount_cents) * total_rate.scaleb(-2)
    amount = round_minor(exact)
    shares = _split(amount, [tax.rate for tax in fee.taxes])
    applied = tuple(
        AppliedTax(tax.code, tax.rate, share) for tax, share in zip(fee.taxes, shares, strict=True)
    )
    return FeeTax(fee.fee_id, fee.amount_cents, total_rate, amount, applied)


def compute_invoice_taxes(fees: Sequence[TaxableFee]) -> InvoiceTaxes:
    """Per-fee taxes and the invoice's ``taxes_amount_cents`` (their sum), per tax code too."""
    fee_taxes = tuple(compute_fee_tax(fee) for fee in fees)
    by_code: dict[str, int] = {}
    for fee_tax in fee_taxes:
        for applied in fee_tax.applied_taxes:
            by_code[applied.code] = by_code.get(applied.code, 0) + applied.amount_cents
    total = sum(fee_tax.taxes_amount_cents for fee_tax in fee_taxes)
    return InvoiceTaxes(fee_taxes, total, by_code)


def _split(amount: int, rates: Sequence[Decimal]) -> list[int]:
    """Split ``amount`` in proportion to ``rates`` by largest remainder.

    Each share is first rounded down; the cents left over go one each to the largest
    fractional parts, ties to the tax listed first, so the split is deterministic.
    """
    total_rate = sum(rates, _ZERO)
    if total_rate == 0:
        return [0] * len(rates)
    exact = [Decimal(amount) * rate / total_rate for rate in rates]
    shares = [int(part) for part in exact]  # int() truncates; parts are >= 0
    leftover = amount - sum(shares)
    by_remainder = sorted(range(len(rates)), key=lambda i: (-(exact[i] - shares[i]), i))
    for index in by_remainder[:leftover]:
        shares[index] += 1
    return shares
