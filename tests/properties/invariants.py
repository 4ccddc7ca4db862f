"""The ledger's invariants, read from PostgreSQL in one snapshot and checked in Python.

Written from the rules, not from bxb's code: an invoice is its fees, less coupons, plus
taxes at the rate the catalog says applies, rounded half-up once over the invoice (Lago's
rule: the sum of every fee's precise tax), less credits
(unused prepaid days and credit notes) and prepaid wallet credits. Each check names the
rule it guards; a violation lists every row that breaks it.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from decimal import Decimal
from itertools import pairwise
from typing import Any

from tests.properties.catalog import COUPONS, FIELD, PLAN_BY_CODE, TaxLevels, charge_amount
from tests.properties.credit_invariants import check_credit_notes, check_voids, check_wallets
from tests.properties.ledger import (
    Ledger,
    Violations,
    deduction_lines,
    paused,
    read_ledger,
    round_cents,
)

__all__ = ["Ledger", "check_ledger", "read_ledger"]

COUPON_TERMS = {coupon.code: coupon.body for coupon in COUPONS}


def check_ledger(ledger: Ledger, taxes: TaxLevels) -> None:
    v = Violations()
    _invoice_totals(ledger, taxes, v)
    _numbering(ledger, v)
    check_credit_notes(ledger, v)
    _payments(ledger, v)
    check_wallets(ledger, v)
    _coupons(ledger, v)
    _billing_periods(ledger, v)
    _usage(ledger, v)
    check_voids(ledger, v)
    v.raise_any()


def _invoice_totals(ledger: Ledger, taxes: TaxLevels, v: Violations) -> None:
    wallet_paid = {
        t.invoice_id: t.amount_cents
        for t in ledger.wallet_transactions
        if t.transaction_status == "invoiced"
    }
    applied: dict[uuid.UUID, int] = defaultdict(int)
    for application in ledger.applications:
        applied[application.invoice_id] += application.amount_cents
    for inv in ledger.invoices:
        fees = ledger.fees_of.get(inv.id, [])
        deductions = deduction_lines(inv, fees)
        charges = [fee for fee in fees if fee not in deductions]
        amount = sum(f.amount_cents for f in charges)
        coupons = sum(f.coupons_amount_cents for f in charges)
        tax = sum(f.taxes_amount_cents for f in charges)
        row = (inv.number, inv.id)
        v.check(inv.fees_amount_cents == amount, "fees_amount = sum of fees", row)
        v.check(inv.coupons_amount_cents == coupons, "coupons_amount = sum of fee coupons", row)
        v.check(inv.taxes_amount_cents == tax, "taxes_amount = sum of fee taxes", row)
        precise = sum(
            (
                (Decimal(f.amount_cents) - Decimal(f.precise_coupons_amount_cents))
                * Decimal(f.taxes_rate)
                / 100
                for f in charges
            ),
            Decimal(0),
        )
        v.check(
            inv.taxes_amount_cents == round_cents(precise.quantize(Decimal("1e-9"))),
            "taxes_amount = the fees' precise taxes rounded once",
            (row, inv.taxes_amount_cents, precise),
        )
        v.check(
            sum(int(t["amount_cents"]) for t in inv.applied_taxes) == tax,
            "applied taxes add up to taxes_amount",
            row,
        )
        billed = amount - coupons + tax
        credits = inv.credit_notes_amount_cents + inv.prepaid_credit_amount_cents
        v.check(
            inv.total_amount_cents == billed - credits,
            "total = fees - coupons + taxes - credit notes - prepaid credits",
            (
                row,
                amount,
                coupons,
                tax,
                inv.credit_notes_amount_cents,
                inv.prepaid_credit_amount_cents,
                inv.total_amount_cents,
            ),
        )
        v.check(inv.total_amount_cents >= 0, "total never negative", row)
        v.check(
            inv.prepaid_credit_amount_cents == wallet_paid.get(inv.id, 0),
            "prepaid credits = the wallet's invoiced transaction",
            row,
        )
        unused_days = sum(f.amount_cents for f in deductions)
        if inv.status == "finalized":  # a void gives consumed credit notes back
            v.check(
                0 <= inv.credit_notes_amount_cents - applied[inv.id] <= unused_days,
                "credit notes amount = applied notes + unused days (capped)",
                (row, inv.credit_notes_amount_cents, applied[inv.id], unused_days),
            )
        for fee in fees:
            _fee(inv, fee, fee in deductions, taxes, v)


def _fee(inv: Any, fee: Any, deduction: bool, taxes: TaxLevels, v: Violations) -> None:
    row = (inv.number, fee.fee_type, fee.item_code, fee.id)
    v.check(fee.amount_cents >= 0, "fee amounts are not negative", row)
    v.check(0 <= fee.coupons_amount_cents <= fee.amount_cents, "coupons within the fee", row)
    if deduction or inv.invoice_type == "credit":
        v.check(fee.taxes_amount_cents == 0, "credits and top-ups carry no tax", row)
        if deduction:
            _prorated(fee, PLAN_BY_CODE[fee.item_code].amount_cents, row, v)
        return
    plan = PLAN_BY_CODE[fee.plan_code]
    rate = taxes.rate(inv.customer, plan, charge=fee.fee_type == "charge")
    v.check(
        Decimal(fee.taxes_rate) == rate,
        "the fee's tax rate follows the catalog",
        (row, fee.taxes_rate, rate),
    )
    precise = (Decimal(fee.amount_cents) - Decimal(fee.precise_coupons_amount_cents)) * rate / 100
    v.check(
        abs(Decimal(fee.taxes_precise_amount_cents) - precise) < Decimal("1e-9"),
        "precise tax = (amount - precise coupons) x rate",
        (row, fee.taxes_precise_amount_cents, precise),
    )
    v.check(
        abs(fee.taxes_amount_cents - precise) < 1,
        "a fee's tax is its precise tax, rounded up or down (its share of the invoice's)",
        (row, fee.taxes_amount_cents, precise),
    )
    v.check(
        abs(fee.coupons_amount_cents - Decimal(fee.precise_coupons_amount_cents)) < 1,
        "a fee's coupons are its precise coupons, rounded up or down",
        row,
    )
    if fee.fee_type == "subscription":
        _prorated(fee, plan.amount_cents, row, v)


def _prorated(fee: Any, plan_amount: int, row: Any, v: Violations) -> None:
    """A base fee (or its unused days) is the plan's amount for its share of the period."""
    days, full = fee.amount_details.get("days"), fee.amount_details.get("full_days")
    v.check(days is not None and full is not None and 0 < days <= full, "0 < days <= period", row)
    if days is not None and full:
        expected = round_cents(Decimal(plan_amount * days) / full)
        v.check(fee.amount_cents == expected, "fee = plan x days / period days", (row, expected))


def _numbering(ledger: Ledger, v: Violations) -> None:
    numbered = [inv for inv in ledger.invoices if inv.status != "draft"]
    ids = sorted(inv.sequential_id for inv in numbered if inv.sequential_id is not None)
    v.check(ids == list(range(1, len(numbered) + 1)), "invoice numbers 1..N, gapless, unique", ids)
    for inv in ledger.invoices:
        if inv.status == "draft":
            v.check(
                inv.number is None and inv.sequential_id is None, "drafts have no number", inv.id
            )
        elif inv.sequential_id is not None:
            expected = f"{ledger.prefix}-{inv.sequential_id:06d}"
            v.check(inv.number == expected, "number = prefix-sequential_id", (inv.number, expected))
    kinds: dict[tuple[Any, ...], int] = defaultdict(int)
    for inv in ledger.invoices:
        if inv.subscription_id is not None:
            kinds[(inv.subscription_id, inv.period_start, inv.period_end, inv.kind)] += 1
    for key, count in kinds.items():
        v.check(count == 1, "one invoice per (subscription, period, kind)", key)
    by_invoice = defaultdict(list)
    for note in ledger.notes:
        by_invoice[note.invoice_id].append(note)
    numbers = {inv.id: inv.number for inv in ledger.invoices}
    for invoice_id, notes in by_invoice.items():
        seq = sorted(n.sequential_id for n in notes)
        v.check(
            seq == list(range(1, len(notes) + 1)), "credit notes numbered 1..n per invoice", seq
        )
        for n in notes:
            v.check(
                n.number == f"{numbers[invoice_id]}-CN{n.sequential_id}", "note number", n.number
            )


def _payments(ledger: Ledger, v: Violations) -> None:
    paid: dict[uuid.UUID, int] = defaultdict(int)
    for payment in ledger.payments:
        if payment.status == "succeeded":
            paid[payment.invoice_id] += payment.amount_cents
    for inv in ledger.invoices:
        row = (
            inv.number,
            inv.id,
            inv.payment_status,
            inv.total_amount_cents,
            inv.total_paid_amount_cents,
        )
        v.check(
            inv.total_paid_amount_cents == paid[inv.id], "paid = sum of succeeded payments", row
        )
        v.check(
            inv.total_paid_amount_cents <= inv.total_amount_cents, "never paid more than due", row
        )
        if inv.status == "draft":
            v.check(inv.total_paid_amount_cents == 0, "nothing is paid on a draft", row)
            v.check(inv.payment_status == "pending", "a draft's payment is pending", row)
        elif inv.status == "finalized":
            settled = inv.total_paid_amount_cents >= inv.total_amount_cents
            v.check((inv.payment_status == "succeeded") == settled, "succeeded iff fully paid", row)


def _coupons(ledger: Ledger, v: Violations) -> None:
    """What coupons took never exceeds what fixed coupons were worth."""
    bound: dict[str, int | None] = defaultdict(int)
    for applied in ledger.applied_coupons:
        row = (applied.customer, applied.code, applied.id)
        if applied.amount_cents_remaining is not None:
            v.check(
                0 <= applied.amount_cents_remaining <= applied.amount_cents,
                "0 <= coupon left <= amount",
                row,
            )
        if applied.frequency_duration_remaining is not None:
            v.check(applied.frequency_duration_remaining >= 0, "coupon periods left >= 0", row)
        terms = COUPON_TERMS[applied.code]
        current = bound[applied.customer]
        if current is None or terms["coupon_type"] != "fixed_amount":
            bound[applied.customer] = None  # a percentage has no bound in cents
        else:
            bound[applied.customer] = current + terms["amount_cents"] * terms.get(
                "frequency_duration", 1
            )
    taken: dict[str, int] = defaultdict(int)
    for inv in ledger.invoices:
        if inv.status != "draft":
            taken[inv.customer] += inv.coupons_amount_cents
    for customer, amount in taken.items():
        limit = bound.get(customer, 0)
        if limit is not None:
            v.check(
                amount <= limit,
                "coupons never take more than they are worth",
                (customer, amount, limit),
            )


def _billing_periods(ledger: Ledger, v: Violations) -> None:
    """No day is billed twice, and none is skipped between two billed ones: a segment's base
    fees, and a subscription's usage windows across its plans, follow each other exactly."""
    external_id = {row.id: row.external_id for row in ledger.subscriptions}
    spans: dict[tuple[Any, ...], list[tuple[Any, Any, Any]]] = defaultdict(list)
    for fee in ledger.fees:
        if fee.from_datetime is None or fee.subscription_id is None:
            continue
        if fee.fee_type == "charge":
            key: tuple[Any, ...] = ("usage", external_id[fee.subscription_id])
        else:
            key = (fee.fee_type, fee.subscription_id)
        spans[key].append((fee.from_datetime, fee.to_datetime, fee.invoice_id))
    for key, intervals in spans.items():
        intervals.sort()
        for (_, end, first), (start, _, second) in pairwise(intervals):
            v.check(end <= start, "billed periods never overlap", (key, first, second, end, start))
            # Paused days are not billed: a gap inside a pause is no gap (a plan paid in
            # advance is billed from the resume when its period began paused).
            if key[0] != "credit" and not (
                key[0] == "subscription" and paused(ledger, external_id[key[1]], end, start)
            ):
                v.check(
                    end >= start, "no gap between billed periods", (key, first, second, end, start)
                )


def _usage(ledger: Ledger, v: Violations) -> None:
    """A usage fee prices exactly the events of its window, with the plan's charge model."""
    external_id = {row.id: row.external_id for row in ledger.subscriptions}
    events = defaultdict(list)
    for event in ledger.events:
        events[event.external_subscription_id].append(event)
    for fee in ledger.fees:
        if fee.fee_type != "charge":
            continue
        subscription = external_id[fee.subscription_id]
        inside = [  # events sent during a pause are stored, never billed
            e
            for e in events[subscription]
            if fee.from_datetime <= e.timestamp < fee.to_datetime
            and not paused(ledger, subscription, e.timestamp)
        ]
        units = sum((Decimal(str(e.properties[FIELD])) for e in inside), Decimal(0))
        expected = round_cents(charge_amount(PLAN_BY_CODE[fee.plan_code], units))
        row = (fee.invoice_id, fee.plan_code, fee.from_datetime, fee.to_datetime)
        v.check(
            Decimal(fee.units) == units,
            "usage units = the window's events",
            (row, fee.units, units),
        )
        v.check(fee.events_count == len(inside), "events_count = the window's events", row)
        v.check(
            fee.amount_cents == expected,
            "usage fee = charge model(units)",
            (row, fee.amount_cents, expected),
        )
