"""Invariants of credit: credit notes and their use, unused prepaid days, wallets of
prepaid credits, voided invoices."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from tests.properties.ledger import Ledger, Violations, deduction_lines


def check_credit_notes(ledger: Ledger, v: Violations) -> None:
    invoices = {inv.id: inv for inv in ledger.invoices}
    fees = {fee.id: fee for fee in ledger.fees}
    items_of = defaultdict(list)
    for item in ledger.items:
        items_of[item.credit_note_id].append(item)
    spent = _spent(ledger, v)
    per_fee: dict[uuid.UUID, list[int]] = defaultdict(lambda: [0, 0, 0])
    per_invoice: dict[uuid.UUID, list[int]] = defaultdict(lambda: [0, 0])
    for note in ledger.notes:
        row: tuple[Any, ...] = (note.number, note.id)
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
        v.check(
            note.sub_total_excluding_taxes_amount_cents == sub_total, "note sub total = items", row
        )
        v.check(note.taxes_amount_cents == taxes, "note taxes = items' taxes", row)
        v.check(note.total_amount_cents == sub_total + taxes, "note total = sub total + taxes", row)
        v.check(note.total_amount_cents > 0, "a note is worth something", row)
        v.check(
            note.credit_amount_cents + note.refund_amount_cents == note.total_amount_cents,
            "credit + refund = total",
            row,
        )
        v.check(min(note.credit_amount_cents, note.refund_amount_cents) >= 0, "parts >= 0", row)
        v.check(
            0 <= note.balance_amount_cents <= note.credit_amount_cents,
            "0 <= balance <= credit",
            row,
        )
        if note.credit_status == "voided":
            v.check(note.balance_amount_cents == 0, "a voided note has no balance", row)
            v.check(spent[note.id] <= note.credit_amount_cents, "spent <= credit", row)
        else:
            v.check(
                note.balance_amount_cents + spent[note.id] == note.credit_amount_cents,
                "credit = balance + what invoices consumed",
                (row, spent[note.id]),
            )
        status = {
            None: note.credit_amount_cents == 0,
            "available": note.balance_amount_cents > 0,
            "consumed": note.balance_amount_cents == 0 and note.credit_amount_cents > 0,
            "voided": note.credit_amount_cents > 0,
        }
        v.check(
            status.get(note.credit_status, False),
            "credit_status matches balance",
            (row, note.credit_status),
        )
        v.check(
            (note.refund_status is None) == (note.refund_amount_cents == 0),
            "refund_status set iff refund",
            row,
        )
        for item in items:
            fee = fees[item.fee_id]
            v.check(
                fee.invoice_id == note.invoice_id, "items credit fees of the note's invoice", row
            )
            v.check(
                fee.invoice_id not in invoices
                or fee not in deduction_lines(invoices[fee.invoice_id], [fee]),
                "a credit line (unused days) is never credited again",
                (row, fee.id),
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
        charges = [f for f in fees_of if f not in deduction_lines(inv, fees_of)]
        billed = sum(
            f.amount_cents - f.coupons_amount_cents + f.taxes_amount_cents for f in charges
        )
        v.check(
            total <= billed,
            "notes never exceed what the invoice billed",
            (inv.number, total, billed),
        )
        v.check(
            refunded <= inv.total_paid_amount_cents,
            "refunds never exceed what was paid",
            (inv.number, refunded, inv.total_paid_amount_cents),
        )


def _spent(ledger: Ledger, v: Violations) -> dict[uuid.UUID, int]:
    """What later invoices consumed of each note; each use is a sound one."""
    notes = {note.id: note for note in ledger.notes}
    invoices = {inv.id: inv for inv in ledger.invoices}
    spent: dict[uuid.UUID, int] = defaultdict(int)
    for application in ledger.applications:
        spent[application.credit_note_id] += application.amount_cents
        note, inv = notes[application.credit_note_id], invoices[application.invoice_id]
        row = (note.number, inv.number, application.amount_cents)
        v.check(application.amount_cents > 0, "an application takes something", row)
        v.check(note.customer_id == inv.customer_id, "credit is spent by its own customer", row)
        v.check(note.invoice_id != inv.id, "a note is not spent on its own invoice", row)
        v.check(inv.status == "finalized", "credit is held by finalized invoices only", row)
    return spent


def _unused_days_lines(ledger: Ledger) -> dict[uuid.UUID, int]:
    """Credit lines for unused prepaid days on finalized invoices, by the fee that billed
    those days (the same plan segment's base fee whose period holds them)."""
    invoices = {inv.id: inv for inv in ledger.invoices}
    base_fees = [
        f
        for f in ledger.fees
        if f.fee_type == "subscription" and invoices[f.invoice_id].status != "draft"
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


def check_voids(ledger: Ledger, v: Violations) -> None:
    """A voided invoice leaves the customer no richer and, for money, no poorer: what its
    credit notes gave back (refunds, and credit not given up by a void of the note) is at
    most what was paid for it in money or prepaid credits, and at least the money paid.
    (Credit-note credit it consumed is given back by the void itself.)"""
    spent: dict[uuid.UUID, int] = defaultdict(int)
    for application in ledger.applications:
        spent[application.credit_note_id] += application.amount_cents
    given: dict[uuid.UUID, int] = defaultdict(int)
    voided_notes: dict[uuid.UUID, int] = defaultdict(int)
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
        v.check(
            given[inv.id] <= received,
            "a voided invoice gives back at most what was paid",
            (inv.number, given[inv.id], received),
        )
        if not voided_notes[inv.id]:  # giving up a note's credit is the merchant's choice
            v.check(
                given[inv.id] >= inv.total_paid_amount_cents,
                "the money paid for a voided invoice comes back",
                (inv.number, given[inv.id], inv.total_paid_amount_cents),
            )


def check_wallets(ledger: Ledger, v: Violations) -> None:
    """Balances are their settled transactions; credits come out only to pay invoices
    (given back when the invoice is voided) and never below zero."""
    invoices = {inv.id: inv for inv in ledger.invoices}
    moves: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for t in ledger.wallet_transactions:
        moves[t.wallet_id].append(t)
    paid_by = {
        t.invoice_id: t for t in ledger.wallet_transactions if t.transaction_status == "invoiced"
    }
    recredits = {
        t.invoice_id: t
        for t in ledger.wallet_transactions
        if t.transaction_status == "granted" and t.invoice_id is not None
    }
    recredit_ids = {t.id for t in recredits.values()}
    for wallet in ledger.wallets:
        row: tuple[Any, ...] = (
            wallet.id,
            wallet.status,
            wallet.balance_cents,
            wallet.credits_balance,
        )
        v.check(
            wallet.balance_cents >= 0 and wallet.credits_balance >= 0, "wallet never negative", row
        )
        settled = [t for t in moves[wallet.id] if t.status == "settled"]
        inbound = sum(t.amount_cents for t in settled if t.transaction_type == "inbound")
        outbound = sum(t.amount_cents for t in settled if t.transaction_type == "outbound")
        credits_in = sum(t.credit_amount for t in settled if t.transaction_type == "inbound")
        credits_out = sum(t.credit_amount for t in settled if t.transaction_type == "outbound")
        consumed = sum(t.amount_cents for t in settled if t.transaction_status == "invoiced")
        given_back = sum(t.amount_cents for t in settled if t.id in recredit_ids)
        v.check(
            wallet.balance_cents == inbound - outbound,
            "balance = settled in - out",
            (row, inbound, outbound),
        )
        v.check(
            wallet.credits_balance == credits_in - credits_out, "credits = settled in - out", row
        )
        v.check(
            wallet.consumed_amount_cents == consumed - given_back,
            "consumed = invoiced transactions - what voids gave back",
            row,
        )
        v.check(consumed <= inbound, "no money created: consumed <= what came in", row)
        if wallet.status == "terminated":
            v.check(wallet.balance_cents == 0, "a terminated wallet is empty", row)
        for t in moves[wallet.id]:
            if t.transaction_status != "purchased":
                continue
            inv = invoices[t.invoice_id]
            paid = inv.payment_status == "succeeded"
            v.check(
                (t.status == "settled") == paid,
                "a purchase settles when its invoice is paid",
                (t.id, t.status, inv.number),
            )
            if t.status == "failed":
                v.check(inv.status == "voided", "a purchase fails only by a void", t.id)
    wallets = {wallet.id: wallet for wallet in ledger.wallets}
    for invoice_id, recredit in recredits.items():
        paid = paid_by.get(invoice_id)
        row = (invoices[invoice_id].number, recredit.amount_cents)
        v.check(invoices[invoice_id].status == "voided", "only a void gives credits back", row)
        v.check(
            paid is not None
            and (paid.wallet_id, paid.amount_cents, paid.credit_amount)
            == (recredit.wallet_id, recredit.amount_cents, recredit.credit_amount),
            "a void gives back exactly what the invoice took, to its wallet",
            row,
        )
    for inv in ledger.invoices:
        paid = paid_by.get(inv.id)
        if inv.status == "voided" and paid is not None and inv.id not in recredits:
            v.check(
                wallets[paid.wallet_id].status == "terminated",
                "a voided invoice's prepaid credits go back to a live wallet",
                inv.number,
            )
