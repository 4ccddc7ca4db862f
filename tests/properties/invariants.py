"""The ledger's invariants, read from PostgreSQL in one snapshot and checked in Python.

Written from the rules, not from bxb's code: an invoice is its fees, less coupons, plus
taxes rounded half-up once per fee at the rate the catalog says applies, less credits
(unused prepaid days and credit notes) and prepaid wallet credits. Each check names the
rule it guards; a violation lists every row that breaks it.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.properties.catalog import COUPONS, FIELD, PLAN_BY_CODE, TaxLevels, charge_amount

COUPON_TERMS = {coupon.code: coupon.body for coupon in COUPONS}


@dataclass
class Ledger:
    """One organization's rows, read in one REPEATABLE READ snapshot."""

    prefix: str
    invoices: list[Any]
    fees: list[Any]
    notes: list[Any]
    items: list[Any]
    applications: list[Any]
    payments: list[Any]
    wallets: list[Any]
    wallet_transactions: list[Any]
    applied_coupons: list[Any]
    events: list[Any]
    subscriptions: list[Any]
    fees_of: dict[uuid.UUID, list[Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        fees_of: dict[uuid.UUID, list[Any]] = defaultdict(list)
        for fee in self.fees:
            fees_of[fee.invoice_id].append(fee)
        self.fees_of = dict(fees_of)


_QUERIES = {
    "invoices": "SELECT i.*, c.external_id AS customer FROM invoices i "
    "JOIN customers c ON c.id = i.customer_id WHERE i.organization_id = :org",
    "fees": "SELECT f.*, coalesce(p.code, f.item_code) AS plan_code FROM fees f "
    "LEFT JOIN charges ch ON ch.id = f.charge_id LEFT JOIN plans p ON p.id = ch.plan_id "
    "WHERE f.organization_id = :org",
    "notes": "SELECT * FROM credit_notes WHERE organization_id = :org",
    "items": "SELECT * FROM credit_note_items WHERE organization_id = :org",
    "applications": "SELECT * FROM credit_note_applications WHERE organization_id = :org",
    "payments": "SELECT * FROM payments WHERE organization_id = :org",
    "wallets": "SELECT * FROM wallets WHERE organization_id = :org",
    "wallet_transactions": "SELECT * FROM wallet_transactions WHERE organization_id = :org",
    "applied_coupons": "SELECT a.*, c.code, cu.external_id AS customer FROM applied_coupons a "
    "JOIN coupons c ON c.id = a.coupon_id JOIN customers cu ON cu.id = a.customer_id "
    "WHERE a.organization_id = :org",
    "events": "SELECT external_subscription_id, timestamp, properties FROM events "
    "WHERE organization_id = :org",
    "subscriptions": "SELECT * FROM subscriptions WHERE organization_id = :org",
}


async def read_ledger(engine: AsyncEngine, organization_id: uuid.UUID) -> Ledger:
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            params = {"org": organization_id}
            rows = {
                name: list(await conn.execute(text(sql), params)) for name, sql in _QUERIES.items()
            }
            prefix = await conn.scalar(
                text("SELECT document_number_prefix FROM organizations WHERE id = :org"), params
            )
    return Ledger(str(prefix), **rows)


def round_cents(exact: Decimal) -> int:
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def tax_of(amount_after_coupons: int, rate: Decimal) -> int:
    return round_cents(Decimal(amount_after_coupons) * rate / Decimal(100))


class Violations:
    def __init__(self) -> None:
        self.found: list[str] = []

    def check(self, ok: bool, rule: str, row: Any) -> None:
        if not ok:
            self.found.append(f"{rule}: {row}")

    def raise_any(self) -> None:
        if self.found:
            raise AssertionError("ledger invariants broken:\n  " + "\n  ".join(self.found[:20]))


def check_ledger(ledger: Ledger, taxes: TaxLevels) -> None:
    v = Violations()
    _invoice_totals(ledger, taxes, v)
    _numbering(ledger, v)
    _credit_notes(ledger, v)
    _payments(ledger, v)
    _wallets(ledger, v)
    _coupons(ledger, v)
    _billing_periods(ledger, v)
    _usage(ledger, v)
    _voids(ledger, v)
    v.raise_any()


def _deductions(invoice: Any, fees: list[Any]) -> list[Any]:
    """Credit lines (unused prepaid days) of a subscription invoice: not charges."""
    if invoice.invoice_type == "credit":
        return []
    return [fee for fee in fees if fee.fee_type == "credit"]


def _invoice_totals(ledger: Ledger, taxes: TaxLevels, v: Violations) -> None:
    wallet_paid = {
        t.invoice_id: t.amount_cents
        for t in ledger.wallet_transactions
        if t.transaction_status == "invoiced"
    }
    applied = defaultdict(int)
    for application in ledger.applications:
        applied[application.invoice_id] += application.amount_cents
    for inv in ledger.invoices:
        fees = ledger.fees_of.get(inv.id, [])
        deductions = _deductions(inv, fees)
        charges = [fee for fee in fees if fee not in deductions]
        amount = sum(f.amount_cents for f in charges)
        coupons = sum(f.coupons_amount_cents for f in charges)
        tax = sum(f.taxes_amount_cents for f in charges)
        row = (inv.number, inv.id)
        v.check(inv.fees_amount_cents == amount, "fees_amount = sum of fees", row)
        v.check(inv.coupons_amount_cents == coupons, "coupons_amount = sum of fee coupons", row)
        v.check(inv.taxes_amount_cents == tax, "taxes_amount = sum of fee taxes", row)
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
            (row, amount, coupons, tax, inv.credit_notes_amount_cents,
             inv.prepaid_credit_amount_cents, inv.total_amount_cents),
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
    v.check(Decimal(fee.taxes_rate) == rate, "the fee's tax rate follows the catalog", (row, fee.taxes_rate, rate))
    expected = tax_of(fee.amount_cents - fee.coupons_amount_cents, rate)
    v.check(fee.taxes_amount_cents == expected, "tax = round_half_up(after coupons x rate)",
            (row, fee.taxes_amount_cents, expected))
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
            v.check(inv.number is None and inv.sequential_id is None, "drafts have no number", inv.id)
        elif inv.sequential_id is not None:
            expected = f"{ledger.prefix}-{inv.sequential_id:06d}"
            v.check(inv.number == expected, "number = prefix-sequential_id", (inv.number, expected))
    kinds = defaultdict(int)
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
        v.check(seq == list(range(1, len(notes) + 1)), "credit notes numbered 1..n per invoice", seq)
        for n in notes:
            v.check(n.number == f"{numbers[invoice_id]}-CN{n.sequential_id}", "note number", n.number)


def _credit_notes(ledger: Ledger, v: Violations) -> None:
    invoices = {inv.id: inv for inv in ledger.invoices}
    fees = {fee.id: fee for fee in ledger.fees}
    items_of = defaultdict(list)
    for item in ledger.items:
        items_of[item.credit_note_id].append(item)
    notes = {note.id: note for note in ledger.notes}
    spent = defaultdict(int)
    for application in ledger.applications:
        spent[application.credit_note_id] += application.amount_cents
        note, inv = notes[application.credit_note_id], invoices[application.invoice_id]
        row = (note.number, inv.number, application.amount_cents)
        v.check(application.amount_cents > 0, "an application takes something", row)
        v.check(note.customer_id == inv.customer_id, "credit is spent by its own customer", row)
        v.check(note.invoice_id != inv.id, "a note is not spent on its own invoice", row)
        v.check(inv.status == "finalized", "credit is held by finalized invoices only", row)
    per_fee: dict[uuid.UUID, list[int]] = defaultdict(lambda: [0, 0, 0])
    per_invoice: dict[uuid.UUID, list[int]] = defaultdict(lambda: [0, 0])
    for note in ledger.notes:
        row = (note.number, note.id)
        inv = invoices[note.invoice_id]
        v.check(inv.status != "draft", "notes credit finalized invoices", row)
        v.check(
            inv.invoice_type != "credit" or inv.status == "voided",
            "a top-up is credited only for what was paid before its void",
            row,
        )
        items = items_of[note.id]
        sub_total = sum(i.amount_cents - i.coupons_adjustment_amount_cents for i in items)
        taxes = sum(i.taxes_amount_cents for i in items)
        v.check(note.sub_total_excluding_taxes_amount_cents == sub_total, "note sub total = items", row)
        v.check(note.taxes_amount_cents == taxes, "note taxes = items' taxes", row)
        v.check(note.total_amount_cents == sub_total + taxes, "note total = sub total + taxes", row)
        v.check(note.total_amount_cents > 0, "a note is worth something", row)
        v.check(
            note.credit_amount_cents + note.refund_amount_cents == note.total_amount_cents,
            "credit + refund = total", row,
        )
        v.check(min(note.credit_amount_cents, note.refund_amount_cents) >= 0, "parts >= 0", row)
        v.check(0 <= note.balance_amount_cents <= note.credit_amount_cents, "0 <= balance <= credit", row)
        if note.credit_status == "voided":
            v.check(note.balance_amount_cents == 0, "a voided note has no balance", row)
            v.check(spent[note.id] <= note.credit_amount_cents, "spent <= credit", row)
        else:
            v.check(
                note.balance_amount_cents + spent[note.id] == note.credit_amount_cents,
                "credit = balance + what invoices consumed", (row, spent[note.id]),
            )
        status = {None: note.credit_amount_cents == 0,
                  "available": note.balance_amount_cents > 0,
                  "consumed": note.balance_amount_cents == 0 and note.credit_amount_cents > 0,
                  "voided": note.credit_amount_cents > 0}
        v.check(status.get(note.credit_status, False), "credit_status matches balance", (row, note.credit_status))
        v.check((note.refund_status is None) == (note.refund_amount_cents == 0), "refund_status set iff refund", row)
        for item in items:
            fee = fees[item.fee_id]
            v.check(fee.invoice_id == note.invoice_id, "items credit fees of the note's invoice", row)
            v.check(
                fee.invoice_id not in invoices or fee not in _deductions(invoices[fee.invoice_id], [fee]),
                "a credit line (unused days) is never credited again", (row, fee.id),
            )
            credited = per_fee[item.fee_id]
            credited[0] += item.amount_cents
            credited[1] += item.coupons_adjustment_amount_cents
            credited[2] += item.taxes_amount_cents
        per_invoice[note.invoice_id][0] += note.total_amount_cents
        per_invoice[note.invoice_id][1] += note.refund_amount_cents
    for fee_id, lines in _unused_days_lines(ledger).items():
        per_fee[fee_id][0] += lines
    for fee_id, (amount, coupons, taxes) in per_fee.items():
        fee = fees[fee_id]
        v.check(
            amount <= fee.amount_cents,
            "a fee is never credited more than it billed (notes and unused-days lines)",
            (fee_id, amount, fee.amount_cents),
        )
        v.check(coupons <= fee.coupons_amount_cents, "credited coupons <= the fee's", fee_id)
        v.check(taxes <= fee.taxes_amount_cents, "credited taxes <= the fee's", fee_id)
    for invoice_id, (total, refunded) in per_invoice.items():
        inv = invoices[invoice_id]
        fees_of = ledger.fees_of.get(invoice_id, [])
        charges = [f for f in fees_of if f not in _deductions(inv, fees_of)]
        billed = sum(f.amount_cents - f.coupons_amount_cents + f.taxes_amount_cents for f in charges)
        v.check(total <= billed, "notes never exceed what the invoice billed", (inv.number, total, billed))
        v.check(refunded <= inv.total_paid_amount_cents, "refunds never exceed what was paid",
                (inv.number, refunded, inv.total_paid_amount_cents))


def _unused_days_lines(ledger: Ledger) -> dict[uuid.UUID, int]:
    """Credit lines for unused prepaid days on finalized invoices, by the fee that billed
    those days (the same plan segment's base fee whose period holds them)."""
    invoices = {inv.id: inv for inv in ledger.invoices}
    base_fees = [
        f for f in ledger.fees if f.fee_type == "subscription" and invoices[f.invoice_id].status != "draft"
    ]
    credited: dict[uuid.UUID, int] = defaultdict(int)
    for line in ledger.fees:
        inv = invoices[line.invoice_id]
        if line.fee_type != "credit" or inv.invoice_type == "credit" or inv.status != "finalized":
            continue
        for fee in base_fees:
            if (
                fee.subscription_id == line.subscription_id
                and fee.from_datetime <= line.from_datetime
                and line.to_datetime <= fee.to_datetime
            ):
                credited[fee.id] += line.amount_cents
    return credited


def _payments(ledger: Ledger, v: Violations) -> None:
    paid = defaultdict(int)
    for payment in ledger.payments:
        if payment.status == "succeeded":
            paid[payment.invoice_id] += payment.amount_cents
    for inv in ledger.invoices:
        row = (inv.number, inv.id, inv.payment_status, inv.total_amount_cents, inv.total_paid_amount_cents)
        v.check(inv.total_paid_amount_cents == paid[inv.id], "paid = sum of succeeded payments", row)
        v.check(inv.total_paid_amount_cents <= inv.total_amount_cents, "never paid more than due", row)
        if inv.status == "draft":
            v.check(inv.total_paid_amount_cents == 0, "nothing is paid on a draft", row)
            v.check(inv.payment_status == "pending", "a draft's payment is pending", row)
        elif inv.status == "finalized":
            settled = inv.total_paid_amount_cents >= inv.total_amount_cents
            v.check((inv.payment_status == "succeeded") == settled, "succeeded iff fully paid", row)


def _wallets(ledger: Ledger, v: Violations) -> None:
    invoices = {inv.id: inv for inv in ledger.invoices}
    moves: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for t in ledger.wallet_transactions:
        moves[t.wallet_id].append(t)
    for wallet in ledger.wallets:
        row = (wallet.id, wallet.status, wallet.balance_cents, wallet.credits_balance)
        v.check(wallet.balance_cents >= 0 and wallet.credits_balance >= 0, "wallet never negative", row)
        settled = [t for t in moves[wallet.id] if t.status == "settled"]
        inbound = sum(t.amount_cents for t in settled if t.transaction_type == "inbound")
        outbound = sum(t.amount_cents for t in settled if t.transaction_type == "outbound")
        credits_in = sum(t.credit_amount for t in settled if t.transaction_type == "inbound")
        credits_out = sum(t.credit_amount for t in settled if t.transaction_type == "outbound")
        consumed = sum(t.amount_cents for t in settled if t.transaction_status == "invoiced")
        v.check(wallet.balance_cents == inbound - outbound, "balance = settled in - out", (row, inbound, outbound))
        v.check(wallet.credits_balance == credits_in - credits_out, "credits = settled in - out", row)
        v.check(wallet.consumed_amount_cents == consumed, "consumed = invoiced transactions", row)
        v.check(consumed <= inbound, "no money created: consumed <= granted + purchased", row)
        if wallet.status == "terminated":
            v.check(wallet.balance_cents == 0, "a terminated wallet is empty", row)
        for t in moves[wallet.id]:
            if t.transaction_status != "purchased":
                continue
            inv = invoices[t.invoice_id]
            paid = inv.payment_status == "succeeded"
            v.check((t.status == "settled") == paid, "a purchase settles when its invoice is paid", (t.id, t.status, inv.number))
            if t.status == "failed":
                v.check(inv.status == "voided", "a purchase fails only by a void", t.id)


def _coupons(ledger: Ledger, v: Violations) -> None:
    """What coupons took never exceeds what fixed coupons were worth."""
    bound: dict[str, int | None] = defaultdict(int)
    for applied in ledger.applied_coupons:
        row = (applied.customer, applied.code, applied.id)
        if applied.amount_cents_remaining is not None:
            v.check(0 <= applied.amount_cents_remaining <= applied.amount_cents, "0 <= coupon left <= amount", row)
        if applied.frequency_duration_remaining is not None:
            v.check(applied.frequency_duration_remaining >= 0, "coupon periods left >= 0", row)
        terms = COUPON_TERMS[applied.code]
        current = bound[applied.customer]
        if current is None or terms["coupon_type"] != "fixed_amount":
            bound[applied.customer] = None  # a percentage has no bound in cents
        else:
            bound[applied.customer] = current + terms["amount_cents"] * terms.get("frequency_duration", 1)
    taken = defaultdict(int)
    for inv in ledger.invoices:
        if inv.status != "draft":
            taken[inv.customer] += inv.coupons_amount_cents
    for customer, amount in taken.items():
        limit = bound.get(customer, 0)
        if limit is not None:
            v.check(amount <= limit, "coupons never take more than they are worth", (customer, amount, limit))


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
        for (_, end, first), (start, _, second) in zip(intervals, intervals[1:], strict=False):
            v.check(end <= start, "billed periods never overlap", (key, first, second, end, start))
            if key[0] != "credit":
                v.check(end >= start, "no gap between billed periods", (key, first, second, end, start))


def _usage(ledger: Ledger, v: Violations) -> None:
    """A usage fee prices exactly the events of its window, with the plan's charge model."""
    external_id = {row.id: row.external_id for row in ledger.subscriptions}
    events = defaultdict(list)
    for event in ledger.events:
        events[event.external_subscription_id].append(event)
    for fee in ledger.fees:
        if fee.fee_type != "charge":
            continue
        inside = [
            e
            for e in events[external_id[fee.subscription_id]]
            if fee.from_datetime <= e.timestamp < fee.to_datetime
        ]
        units = sum((Decimal(str(e.properties[FIELD])) for e in inside), Decimal(0))
        expected = round_cents(charge_amount(PLAN_BY_CODE[fee.plan_code], units))
        row = (fee.invoice_id, fee.plan_code, fee.from_datetime, fee.to_datetime)
        v.check(Decimal(fee.units) == units, "usage units = the window's events", (row, fee.units, units))
        v.check(fee.events_count == len(inside), "events_count = the window's events", row)
        v.check(fee.amount_cents == expected, "usage fee = charge model(units)", (row, fee.amount_cents, expected))


def _voids(ledger: Ledger, v: Violations) -> None:
    """A voided invoice leaves the customer no richer and, for money, no poorer: what its
    credit notes gave back (refunds, and credit not given up by a void of the note) is at
    most what was paid for it in money or prepaid credits, and at least the money paid.
    (Credit-note credit it consumed is given back by the void itself.)"""
    spent = defaultdict(int)
    for application in ledger.applications:
        spent[application.credit_note_id] += application.amount_cents
    given, voided_notes = defaultdict(int), defaultdict(int)
    for note in ledger.notes:
        if note.credit_status == "voided":  # its unspent credit was given up
            given[note.invoice_id] += note.refund_amount_cents + spent[note.id]
            voided_notes[note.invoice_id] += 1
        else:
            given[note.invoice_id] += note.total_amount_cents
    for inv in ledger.invoices:
        if inv.status != "voided":
            continue
        received = inv.total_paid_amount_cents + inv.prepaid_credit_amount_cents
        v.check(given[inv.id] <= received, "a voided invoice gives back at most what was paid",
                (inv.number, given[inv.id], received))
        if not voided_notes[inv.id]:  # giving up a note's credit is the merchant's choice
            v.check(given[inv.id] >= inv.total_paid_amount_cents,
                    "the money paid for a voided invoice comes back",
                    (inv.number, given[inv.id], inv.total_paid_amount_cents))
