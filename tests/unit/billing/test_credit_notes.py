"""Credit notes: limits per fee and invoice, coupons and taxes in proportion, one rounding."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bxb.billing.credit_notes import (
    CreditableFee,
    CreditableInvoice,
    CreditAmounts,
    CreditItem,
    CreditNoteError,
    compute_credit,
    consume_balances,
    credit_for_total,
    credit_item,
    merge_items,
    split_errors,
    split_in_proportion,
)
from bxb.billing.money import round_minor

# A 10 000 fee with a 1 000 coupon, taxed 20 % on the 9 000 left: 1 800 of taxes.
SUB = CreditableFee("sub", 10_000, 1_000, 1_800, Decimal(20))
# A 333 usage fee, no coupon, 5.5 % (18.315 → 18).
USAGE = CreditableFee("usage", 333, 0, 18, Decimal("5.5"))
INVOICE = CreditableInvoice((SUB, USAGE), total_paid_amount_cents=11_151)


def _after(
    invoice: CreditableInvoice, amounts: CreditAmounts, refund: int = 0
) -> CreditableInvoice:
    """The invoice once a note with these amounts was recorded."""
    credited = {item.fee_id: item for item in amounts.items}
    fees = []
    for fee in invoice.fees:
        item = credited.get(fee.fee_id)
        if item is not None:
            fee = replace(
                fee,
                credited_amount_cents=fee.credited_amount_cents + item.amount_cents,
                credited_coupons_cents=fee.credited_coupons_cents + item.coupons_adjustment_cents,
                credited_taxes_cents=fee.credited_taxes_cents + item.taxes_amount_cents,
            )
        fees.append(fee)
    return replace(
        invoice, fees=tuple(fees), refunded_amount_cents=invoice.refunded_amount_cents + refund
    )


def test_an_item_takes_its_share_of_the_fees_coupons_and_taxes() -> None:
    amounts = compute_credit(INVOICE, [CreditItem("sub", 5_000)])
    assert amounts.items_amount_cents == 5_000
    assert amounts.coupons_adjustment_amount_cents == 500
    assert amounts.sub_total_excluding_taxes_amount_cents == 4_500
    assert amounts.taxes_amount_cents == 900
    assert amounts.total_amount_cents == 5_400
    assert amounts.taxes_rate == Decimal(20)
    assert amounts.precise_taxes_amount_cents == Decimal(900)


def test_crediting_everything_gives_exactly_the_invoice_total() -> None:
    amounts = compute_credit(INVOICE, [CreditItem("sub", 10_000), CreditItem("usage", 333)])
    assert amounts.total_amount_cents == 10_000 - 1_000 + 1_800 + 333 + 18
    assert INVOICE.remaining_creditable_cents == amounts.total_amount_cents
    assert _after(INVOICE, amounts).remaining_creditable_cents == 0


def test_mixed_rates_show_the_effective_rate() -> None:
    amounts = compute_credit(INVOICE, [CreditItem("sub", 1_000), CreditItem("usage", 100)])
    # 900 at 20 % (180) and 100 at 5.5 % (5.5 → 6): 186 on 1 000.
    assert amounts.taxes_amount_cents == 186
    assert amounts.taxes_rate == Decimal("18.60")


def test_repeated_fees_are_merged_and_checked_together() -> None:
    assert merge_items([CreditItem("a", 1), CreditItem("b", 2), CreditItem("a", 3)]) == [
        CreditItem("a", 4),
        CreditItem("b", 2),
    ]
    with pytest.raises(CreditNoteError) as error:
        compute_credit(INVOICE, [CreditItem("usage", 200), CreditItem("usage", 200)])
    assert error.value.errors == {"amount_cents": ["higher_than_remaining_fee_amount"]}


def test_an_item_cannot_exceed_what_remains_of_its_fee() -> None:
    first = compute_credit(INVOICE, [CreditItem("usage", 300)])
    later = _after(INVOICE, first)
    assert later.fee("usage").remaining_amount_cents == 33
    with pytest.raises(CreditNoteError):
        compute_credit(later, [CreditItem("usage", 34)])
    assert compute_credit(later, [CreditItem("usage", 33)]).items_amount_cents == 33


def test_bad_item_lists_are_refused() -> None:
    with pytest.raises(CreditNoteError) as error:
        compute_credit(INVOICE, [])
    assert error.value.errors == {"items": ["value_is_mandatory"]}
    with pytest.raises(CreditNoteError) as error:
        compute_credit(INVOICE, [CreditItem("sub", -1)])
    assert error.value.errors == {"amount_cents": ["value_is_invalid"]}
    with pytest.raises(KeyError):
        compute_credit(INVOICE, [CreditItem("nope", 1)])
    with pytest.raises(ValueError, match="cannot credit"):
        credit_item(USAGE, 334)


def test_split_must_match_the_total() -> None:
    amounts = compute_credit(INVOICE, [CreditItem("sub", 5_000)])  # 5 400
    ok = split_errors(INVOICE, amounts, credit_amount_cents=400, refund_amount_cents=5_000)
    assert ok == {}
    assert split_errors(INVOICE, amounts, credit_amount_cents=400, refund_amount_cents=4_999) == {
        "base": ["does_not_match_item_amounts"]
    }
    assert split_errors(INVOICE, amounts, credit_amount_cents=-1, refund_amount_cents=0) == {
        "credit_amount_cents": ["value_is_invalid"]
    }
    assert split_errors(INVOICE, amounts, credit_amount_cents=0, refund_amount_cents=-1) == {
        "refund_amount_cents": ["value_is_invalid"]
    }
    nothing = compute_credit(INVOICE, [CreditItem("sub", 0)])
    assert split_errors(INVOICE, nothing, credit_amount_cents=0, refund_amount_cents=0) == {
        "base": ["invalid_amount"]
    }


def test_refunds_never_exceed_what_was_paid_minus_earlier_refunds() -> None:
    unpaid = replace(INVOICE, total_paid_amount_cents=0)
    amounts = compute_credit(unpaid, [CreditItem("usage", 100)])  # 100 + 6
    assert split_errors(unpaid, amounts, credit_amount_cents=0, refund_amount_cents=106) == {
        "refund_amount_cents": ["higher_than_remaining_invoice_amount"]
    }
    assert split_errors(unpaid, amounts, credit_amount_cents=106, refund_amount_cents=0) == {}
    partly = replace(INVOICE, total_paid_amount_cents=150, refunded_amount_cents=100)
    assert partly.remaining_refundable_cents == 50
    assert split_errors(partly, amounts, credit_amount_cents=56, refund_amount_cents=50) == {}


def test_credit_cannot_exceed_what_remains_creditable() -> None:
    amounts = compute_credit(INVOICE, [CreditItem("usage", 333)])
    done = replace(
        SUB, credited_amount_cents=10_000, credited_coupons_cents=1_000, credited_taxes_cents=1_800
    )
    spent = replace(INVOICE, fees=(done,))
    assert spent.remaining_creditable_cents == 0
    assert split_errors(spent, amounts, credit_amount_cents=351, refund_amount_cents=0) == {
        "credit_amount_cents": ["higher_than_remaining_invoice_amount"],
    }


def test_credit_for_total_is_exact_and_proportional() -> None:
    amounts = credit_for_total(INVOICE, 5_000)
    assert amounts.total_amount_cents == 5_000
    by_fee = {item.fee_id: item.amount_cents for item in amounts.items}
    assert set(by_fee) == {"sub", "usage"}
    assert abs(by_fee["sub"] / 10_000 - by_fee["usage"] / 333) < 0.01
    assert credit_for_total(INVOICE, 10**9).total_amount_cents == INVOICE.remaining_creditable_cents
    assert credit_for_total(INVOICE, 0).items == ()


def test_credit_for_total_takes_the_last_cents_from_taxes() -> None:
    # Each cent of this fee is worth 2 with its 100 % tax: an odd total needs the taxes.
    fee = CreditableFee("f", 100, 0, 100, Decimal(100))
    invoice = CreditableInvoice((fee,), total_paid_amount_cents=200)
    amounts = credit_for_total(invoice, 51)
    assert amounts.total_amount_cents == 51
    assert amounts.taxes_amount_cents <= 100


def test_credit_for_total_steps_back_when_taxes_round_up() -> None:
    free = CreditableFee("free", 1, 1, 0, Decimal(0))
    taxed = CreditableFee("taxed", 7, 1, 1, Decimal(20))
    invoice = CreditableInvoice((free, taxed), total_paid_amount_cents=0)
    amounts = credit_for_total(invoice, 3)  # 2 of the taxed fee would be worth 2 + 1
    assert amounts.total_amount_cents == 3


def test_mixed_rates_on_fully_discounted_items_have_no_rate() -> None:
    a = CreditableFee("a", 100, 100, 0, Decimal(20))
    b = CreditableFee("b", 100, 100, 0, Decimal(10))
    amounts = compute_credit(
        CreditableInvoice((a, b), 0), [CreditItem("a", 50), CreditItem("b", 50)]
    )
    assert (amounts.total_amount_cents, amounts.taxes_rate) == (0, Decimal(0))


def test_balances_are_consumed_oldest_first() -> None:
    balances = [("old", 300), ("mid", 0), ("new", 500)]
    assert consume_balances(balances, 600) == [("old", 300), ("new", 300)]
    assert consume_balances(balances, 100) == [("old", 100)]
    assert consume_balances(balances, 0) == []
    assert consume_balances(balances, 10_000) == [("old", 300), ("new", 500)]


def test_split_in_proportion_sums_exactly() -> None:
    assert split_in_proportion(10, [1, 1, 1]) == [4, 3, 3]
    assert split_in_proportion(7, [0, 0]) == [7, 0]
    assert split_in_proportion(5, []) == []


# --- properties ----------------------------------------------------------------------------

RATES = st.sampled_from([Decimal(0), Decimal("5.5"), Decimal(20), Decimal("19.6"), Decimal(100)])


@st.composite
def fees(draw: st.DrawFn) -> CreditableFee:
    amount = draw(st.integers(1, 50_000))
    coupons = draw(st.integers(0, amount))
    rate = draw(RATES)
    taxes = round_minor((amount - coupons) * rate / 100)
    return CreditableFee(f"fee{draw(st.integers(0, 10**6))}", amount, coupons, taxes, rate)


@st.composite
def invoices(draw: st.DrawFn) -> CreditableInvoice:
    drawn = draw(st.lists(fees(), min_size=1, max_size=4, unique_by=lambda f: f.fee_id))
    return CreditableInvoice(tuple(drawn), total_paid_amount_cents=draw(st.integers(0, 10**6)))


@settings(max_examples=150)
@given(invoices(), st.lists(st.integers(0, 10**6), min_size=1, max_size=8))
def test_any_sequence_of_notes_stays_within_each_fee(
    invoice: CreditableInvoice, wishes: list[int]
) -> None:
    full_total = invoice.remaining_creditable_cents
    credited_total = 0
    state = invoice
    for wish in wishes:
        fee = state.fees[wish % len(state.fees)]
        amount = min(wish, fee.remaining_amount_cents)
        amounts = compute_credit(state, [CreditItem(fee.fee_id, amount)])
        item = amounts.items[0]
        assert 0 <= item.coupons_adjustment_cents <= item.amount_cents
        assert item.taxes_amount_cents >= 0
        assert amounts.total_amount_cents <= state.remaining_creditable_cents
        credited_total += amounts.total_amount_cents
        state = _after(state, amounts)
        for original, now in zip(invoice.fees, state.fees, strict=True):
            assert now.credited_amount_cents <= original.amount_cents
            assert now.credited_coupons_cents <= original.coupons_amount_cents
            assert now.credited_taxes_cents <= original.taxes_amount_cents
    # Crediting the rest lands exactly on the invoice's total.
    rest = [CreditItem(f.fee_id, f.remaining_amount_cents) for f in state.fees]
    credited_total += compute_credit(state, rest).total_amount_cents
    assert credited_total == full_total


@settings(max_examples=150)
@given(invoices(), st.integers(0, 10**6))
def test_credit_for_total_never_exceeds_and_reaches_the_target(
    invoice: CreditableInvoice, target: int
) -> None:
    amounts = credit_for_total(invoice, target)
    expected = min(target, invoice.remaining_creditable_cents)
    assert amounts.total_amount_cents <= expected
    # Only a fee without taxes room could leave a cent behind; never more than one per fee.
    assert expected - amounts.total_amount_cents <= len(invoice.fees)
    state = _after(invoice, amounts)
    for original, now in zip(invoice.fees, state.fees, strict=True):
        assert now.credited_amount_cents <= original.amount_cents
        assert now.credited_taxes_cents <= original.taxes_amount_cents


@given(st.lists(st.integers(0, 10_000), max_size=6), st.integers(0, 50_000))
def test_consumption_never_exceeds_due_or_balances(balances: list[int], due: int) -> None:
    keyed = [(str(i), b) for i, b in enumerate(balances)]
    taken = consume_balances(keyed, due)
    assert sum(amount for _, amount in taken) == min(due, sum(balances))
    assert all(0 < amount <= balances[int(key)] for key, amount in taken)


@given(st.integers(0, 10**6), st.lists(st.integers(0, 10**4), min_size=1, max_size=5))
def test_proportional_split_is_exact(amount: int, weights: list[int]) -> None:
    shares = split_in_proportion(amount, weights)
    assert sum(shares) == amount
    assert all(share >= 0 for share in shares)


def test_a_notes_taxes_are_rounded_once_over_its_items() -> None:
    # Twelve fees of 1003 at 20 %: the invoice's 2407 of tax shared 201 × 7 + 200 × 5.
    fees = tuple(
        CreditableFee(f"f{n}", 1003, 0, 201 if n < 7 else 200, Decimal(20)) for n in range(12)
    )
    invoice = CreditableInvoice(fees, total_paid_amount_cents=0)
    # 501 of each: 100.2 each, rounded per item 100 × 12 = 1200; Lago rounds the note's
    # tax once: 1202.4 → 1202.
    first = compute_credit(invoice, [CreditItem(f.fee_id, 501) for f in fees])
    assert first.taxes_amount_cents == 1202
    assert first.precise_taxes_amount_cents == Decimal("1202.4")
    # The rest gives back exactly what is left: 2407 − 1202 = 1205.
    rest = compute_credit(_after(invoice, first), [CreditItem(f.fee_id, 502) for f in fees])
    assert rest.taxes_amount_cents == 1205
    assert first.total_amount_cents + rest.total_amount_cents == 12036 + 2407


@settings(max_examples=200)
@given(st.lists(st.integers(min_value=1, max_value=99), min_size=1, max_size=6))
def test_notes_never_credit_more_tax_than_the_fee_had(percents: list[int]) -> None:
    fees = (SUB, USAGE, CreditableFee("x", 777, 0, 43, Decimal("5.5")))
    invoice = CreditableInvoice(fees, total_paid_amount_cents=0)
    for percent in percents:
        items = [
            CreditItem(f.fee_id, f.remaining_amount_cents * percent // 100)
            for f in invoice.fees
            if f.remaining_amount_cents * percent // 100
        ]
        if not items:
            break
        invoice = _after(invoice, compute_credit(invoice, items))
        for fee in invoice.fees:
            assert 0 <= fee.credited_taxes_cents <= fee.taxes_amount_cents
    items = [CreditItem(f.fee_id, f.remaining_amount_cents) for f in invoice.fees]
    items = [item for item in items if item.amount_cents]
    if items:
        invoice = _after(invoice, compute_credit(invoice, items))
    assert all(f.credited_taxes_cents == f.taxes_amount_cents for f in invoice.fees)
