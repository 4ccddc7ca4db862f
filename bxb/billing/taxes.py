"""Taxes on fees, computed after coupons, rounded once per tax of the invoice (Lago's way).

Which taxes apply to a fee follows Lago's precedence: the charge's own taxes, else the
plan's, else the customer's, else the organization's default taxes.

Rounding follows Lago (``Fees::ApplyTaxesService``, ``Invoices::ApplyTaxesService``): a
fee's tax is kept precise, ``(amount − precise coupons) × rate / 100`` per tax, never
rounded on its own; each tax of the invoice is the sum of that tax over its fees, rounded
once, half-up; the invoice's ``taxes_amount_cents`` is the sum of all of them rounded once.
So twelve fees at 20 % are taxed 20 % of their sum (give or take half a cent), never up to
six cents more as rounding per fee would.

Every fee still gets an integer ``taxes_amount_cents``: its share of each invoice tax, by
largest remainder of the precise amounts, so the fees' integer taxes add up exactly to the
invoice's (credit notes rely on it). It differs from the fee's precise tax rounded by less
than one cent; the precise figure is ``precise_taxes_amount_cents``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

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
    that exist; a commitment fee passes its commitment's taxes as ``charge_taxes``.
    """
    for level in (charge_taxes, plan_taxes, customer_taxes, organization_taxes):
        if level:
            return tuple(level)
    return ()


@dataclass(frozen=True)
class AppliedTax:
    """One tax on a fee: its precise amount, and the fee's integer share of the invoice's."""

    code: str
    rate: Decimal
    amount_cents: int
    precise_amount_cents: Decimal = field(default=_ZERO, compare=False)


@dataclass(frozen=True)
class FeeTax:
    fee_id: str
    taxable_amount_cents: int
    taxes_rate: Decimal
    taxes_amount_cents: int
    applied_taxes: tuple[AppliedTax, ...]
    precise_taxes_amount_cents: Decimal = _ZERO


@dataclass(frozen=True)
class TaxableFee:
    fee_id: str
    amount_cents: int  # after coupons
    taxes: tuple[Tax, ...]
    # After the fee's precise (unrounded) share of coupons; None: amount_cents exactly.
    precise_amount_cents: Decimal | None = None

    @property
    def precise_base(self) -> Decimal:
        if self.precise_amount_cents is None:
            return Decimal(self.amount_cents)
        return self.precise_amount_cents


@dataclass(frozen=True)
class InvoiceTax:
    """One tax over the invoice: the base it applies to and its amount, rounded once."""

    code: str
    rate: Decimal
    fees_amount_cents: int
    precise_amount_cents: Decimal
    amount_cents: int


@dataclass(frozen=True)
class InvoiceTaxes:
    fees: tuple[FeeTax, ...]
    taxes_amount_cents: int
    amount_cents_by_tax: dict[str, int]
    taxes: tuple[InvoiceTax, ...] = ()

    @property
    def precise_taxes_amount_cents(self) -> Decimal:
        return sum((tax.precise_amount_cents for tax in self.taxes), _ZERO)


def compute_fee_tax(fee: TaxableFee) -> FeeTax:
    """Tax of a fee alone (an invoice of one fee)."""
    return compute_invoice_taxes([fee]).fees[0]


def compute_invoice_taxes(fees: Sequence[TaxableFee]) -> InvoiceTaxes:
    """Each tax of the invoice rounded once over its fees; fees keep precise amounts.

    The invoice's total is the sum of every tax's precise amount rounded once (Lago's
    ``taxes_amount_cents``); each tax's rounded amount is its own precise sum rounded,
    adjusted by largest remainder in the rare case the per-tax roundings do not add up to
    the total, so the applied taxes always sum to the invoice's taxes.
    """
    for fee in fees:
        if fee.amount_cents < 0 or fee.precise_base < 0:
            raise ValueError(f"fee {fee.fee_id!r}: taxable amount cannot be negative")
    precise: dict[str, list[Decimal]] = {}  # code: precise amount per fee (in fee order)
    rates: dict[str, Decimal] = {}
    bases: dict[str, int] = {}
    for index, fee in enumerate(fees):
        for tax in fee.taxes:
            amounts = precise.setdefault(tax.code, [_ZERO] * len(fees))
            amounts[index] += fee.precise_base * tax.rate.scaleb(-2)
            rates[tax.code] = tax.rate
            bases[tax.code] = bases.get(tax.code, 0) + fee.amount_cents
    codes = list(precise)
    sums = [sum(precise[code], _ZERO) for code in codes]
    total = round_minor(sum(sums, _ZERO))
    by_code = dict(zip(codes, _allocate(total, sums), strict=True))
    shares = {code: _allocate(by_code[code], precise[code]) for code in codes}
    fee_taxes = []
    for index, fee in enumerate(fees):
        applied = tuple(
            AppliedTax(tax.code, tax.rate, shares[tax.code][index], precise[tax.code][index])
            for tax in fee.taxes
        )
        fee_taxes.append(
            FeeTax(
                fee.fee_id,
                fee.amount_cents,
                sum((tax.rate for tax in fee.taxes), _ZERO),
                sum(a.amount_cents for a in applied),
                applied,
                sum((a.precise_amount_cents for a in applied), _ZERO),
            )
        )
    invoice_taxes = tuple(
        InvoiceTax(code, rates[code], bases[code], amount, by_code[code])
        for code, amount in zip(codes, sums, strict=True)
    )
    return InvoiceTaxes(tuple(fee_taxes), total, by_code, invoice_taxes)


def _allocate(total: int, parts: Sequence[Decimal]) -> list[int]:
    """Integers summing to ``total``, each its part rounded when that adds up already,
    else by largest remainder (parts rounded down, the units left to the largest
    fractions, ties to the earlier part)."""
    rounded = [round_minor(part) for part in parts]
    if sum(rounded) == total:
        return rounded
    floors = [int(part.to_integral_value(rounding=ROUND_FLOOR)) for part in parts]
    leftover = total - sum(floors)
    if not 0 <= leftover <= len(parts):
        raise ValueError(f"cannot allocate {total} over {len(parts)} parts")
    order = sorted(range(len(parts)), key=lambda i: (-(parts[i] - floors[i]), i))
    for index in order[:leftover]:
        floors[index] += 1
    return floors
