"""Taxes: precedence of levels, and one rounding per tax of the invoice (Lago's way)."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bxb.billing.money import round_minor
from bxb.billing.taxes import (
    AppliedTax,
    Tax,
    TaxableFee,
    compute_fee_tax,
    compute_invoice_taxes,
    resolve_applicable_taxes,
)

VAT = Tax("vat_20", Decimal(20))
REDUCED = Tax("vat_5_5", Decimal("5.5"))
LOCAL = Tax("local_1", Decimal(1))
ORG = Tax("org_10", Decimal(10))


def test_charge_taxes_win_over_everything() -> None:
    taxes = resolve_applicable_taxes(
        charge_taxes=[REDUCED], plan_taxes=[VAT], customer_taxes=[LOCAL], organization_taxes=[ORG]
    )
    assert taxes == (REDUCED,)


def test_each_level_falls_back_to_the_next() -> None:
    assert resolve_applicable_taxes(plan_taxes=[VAT], customer_taxes=[LOCAL]) == (VAT,)
    assert resolve_applicable_taxes(customer_taxes=[VAT, LOCAL], organization_taxes=[ORG]) == (
        VAT,
        LOCAL,
    )
    assert resolve_applicable_taxes(organization_taxes=[ORG]) == (ORG,)
    assert resolve_applicable_taxes() == ()


def test_tax_rate_must_be_a_non_negative_decimal() -> None:
    with pytest.raises(ValueError, match="rate"):
        Tax("neg", Decimal(-1))
    with pytest.raises(ValueError, match="rate"):
        Tax("float", 0.2)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rate"):
        Tax("nan", Decimal("NaN"))


def test_fee_tax_is_rounded_once_on_the_summed_rate() -> None:
    fee = TaxableFee("fee-1", 1999, (VAT, REDUCED))
    tax = compute_fee_tax(fee)
    # 1999 × (20 % + 5.5 %) = 1999 × 0.255 = 509.745 cents → 510
    assert tax.taxes_amount_cents == 510
    assert tax.taxes_rate == Decimal("25.5")
    # the 510 is split 20 : 5.5 between the two taxes → 400 + 110
    assert tax.applied_taxes == (
        AppliedTax("vat_20", Decimal(20), 400),
        AppliedTax("vat_5_5", Decimal("5.5"), 110),
    )
    assert [t.precise_amount_cents for t in tax.applied_taxes] == [
        Decimal("399.8"),
        Decimal("109.945"),
    ]
    assert tax.precise_taxes_amount_cents == Decimal("509.745")


def test_rounding_once_differs_from_rounding_each_tax() -> None:
    # 10 cents × 5 % = 0.5 → 1 per tax; three such taxes rounded separately would be 3,
    # but 10 × 15 % = 1.5 → 2 when rounded once
    taxes = (Tax("a", Decimal(5)), Tax("b", Decimal(5)), Tax("c", Decimal(5)))
    tax = compute_fee_tax(TaxableFee("fee", 10, taxes))
    assert tax.taxes_amount_cents == 2
    assert sum(t.amount_cents for t in tax.applied_taxes) == 2
    assert [t.amount_cents for t in tax.applied_taxes] == [1, 1, 0]  # tie: listed first wins


def test_zero_rate_and_no_taxes() -> None:
    assert (
        compute_fee_tax(TaxableFee("f", 1000, (Tax("zero", Decimal(0)),))).taxes_amount_cents == 0
    )
    free = compute_fee_tax(TaxableFee("f", 1000, ()))
    assert (free.taxes_amount_cents, free.applied_taxes) == (0, ())


def test_negative_taxable_amount_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        compute_fee_tax(TaxableFee("f", -1, (VAT,)))


def test_invoice_taxes_sum_per_fee_taxes() -> None:
    fees = [
        TaxableFee("subscription", 4999, (VAT,)),  # 4999 × 20 % = 999.8 → 1000
        TaxableFee("usage", 1234, (VAT, LOCAL)),  # 1234 × 21 % = 259.14 → 259
        TaxableFee("addon", 333, (REDUCED,)),  # 333 × 5.5 % = 18.315 → 18
    ]
    invoice = compute_invoice_taxes(fees)
    assert [f.taxes_amount_cents for f in invoice.fees] == [1000, 259, 18]
    assert invoice.taxes_amount_cents == 1000 + 259 + 18
    # usage's 259 splits 20:1 → 246.67 / 12.33 → 247 + 12
    assert invoice.amount_cents_by_tax == {"vat_20": 1000 + 247, "local_1": 12, "vat_5_5": 18}


rates = st.decimals(min_value=0, max_value=50, places=3, allow_nan=False, allow_infinity=False)


@given(st.integers(min_value=0, max_value=10**9), st.lists(rates, max_size=4))
def test_fee_tax_is_one_half_up_rounding(amount: int, tax_rates: list[Decimal]) -> None:
    taxes = tuple(Tax(f"t{i}", rate) for i, rate in enumerate(tax_rates))
    tax = compute_fee_tax(TaxableFee("f", amount, taxes))
    assert tax.taxes_amount_cents == round_minor(amount * sum(tax_rates, Decimal(0)) / 100)
    assert sum(t.amount_cents for t in tax.applied_taxes) == tax.taxes_amount_cents
    assert all(t.amount_cents >= 0 for t in tax.applied_taxes)


def test_twelve_fees_at_20_percent_are_taxed_on_their_sum() -> None:
    # Twelve fees of $10.03: 20 % of each is 200.6 cents. Rounded per fee that would be
    # 12 × 201 = 2412; Lago rounds the tax once over the invoice: 20 % of 12036 = 2407.2
    # → 2407, so the invoice totals 12036 + 2407 = 14443.
    fees = [TaxableFee(f"fee-{n}", 1003, (VAT,)) for n in range(12)]
    invoice = compute_invoice_taxes(fees)
    assert invoice.taxes_amount_cents == 2407
    assert invoice.amount_cents_by_tax == {"vat_20": 2407}
    assert invoice.precise_taxes_amount_cents == Decimal("2407.2")
    # each fee keeps its precise 200.6; the integer shares add up to the invoice's 2407
    assert {fee.precise_taxes_amount_cents for fee in invoice.fees} == {Decimal("200.6")}
    shares = [fee.taxes_amount_cents for fee in invoice.fees]
    assert sum(shares) == 2407
    assert set(shares) == {200, 201}
    assert shares.count(201) == 7  # 12 × 0.6 = 7.2: seven fees carry the extra cent
    (tax,) = invoice.taxes
    assert (tax.code, tax.fees_amount_cents, tax.amount_cents) == ("vat_20", 12036, 2407)


def test_fee_shares_are_the_rounded_precise_taxes_when_they_add_up() -> None:
    # 999.8 + 246.8 = 1246.6 → 1247 = 1000 + 247: each fee shows its own rounding
    invoice = compute_invoice_taxes([TaxableFee("a", 4999, (VAT,)), TaxableFee("b", 1234, (VAT,))])
    assert [f.taxes_amount_cents for f in invoice.fees] == [1000, 247]


def test_precise_base_after_coupons_is_taxed() -> None:
    # A fee of 1000 with 333.333… of coupons: Lago taxes (1000 − 333.333…) × 20 % =
    # 133.333… → 133, where the rounded base 667 would give 133.4 → 133 too; two such
    # fees: 266.67 → 267 (the rounded bases 667 + 667 would give 266.8 → 267).
    third = Decimal(1000) - Decimal(1000) / 3
    fees = [TaxableFee(n, 667, (VAT,), third) for n in ("a", "b")]
    invoice = compute_invoice_taxes(fees)
    assert invoice.taxes_amount_cents == 267
    assert [f.taxes_amount_cents for f in invoice.fees] == [134, 133]


@given(
    st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=15),
    st.lists(rates, min_size=1, max_size=3),
)
def test_invoice_taxes_round_once_per_tax(amounts: list[int], tax_rates: list[Decimal]) -> None:
    taxes = tuple(Tax(f"t{i}", rate) for i, rate in enumerate(tax_rates))
    fees = [
        TaxableFee(f"f{n}", amount, taxes[: 1 + n % len(taxes)]) for n, amount in enumerate(amounts)
    ]
    invoice = compute_invoice_taxes(fees)
    precise = sum(
        (Decimal(f.amount_cents) * t.rate / 100 for f in fees for t in f.taxes), Decimal(0)
    )
    assert invoice.taxes_amount_cents == round_minor(precise)
    assert sum(invoice.amount_cents_by_tax.values()) == invoice.taxes_amount_cents
    assert sum(f.taxes_amount_cents for f in invoice.fees) == invoice.taxes_amount_cents
    for fee in invoice.fees:
        assert abs(fee.taxes_amount_cents - fee.precise_taxes_amount_cents) < len(taxes) + 1
    for tax in invoice.taxes:
        assert abs(tax.amount_cents - tax.precise_amount_cents) <= 1
