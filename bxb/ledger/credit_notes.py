"""Credit notes in the ledger: issuing them under the invoice's lock, spending their credit.

Limits are decided by the pure core (bxb.billing.credit_notes) from the invoice's state,
read while the invoice row is locked FOR UPDATE, so two concurrent notes on one invoice
are serialized and cannot together exceed what it allows. Balances are spent oldest first
by later invoices of the customer, under row locks on the notes.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.billing.credit_notes import (
    CreditableFee,
    CreditableInvoice,
    CreditAmounts,
    CreditItem,
    compute_credit,
    consume_balances,
    credit_for_total,
    split_in_proportion,
)
from bxb.billing.periods import local_day
from bxb.models import (
    CreditNote,
    CreditNoteApplication,
    CreditNoteItem,
    Customer,
    Fee,
    Invoice,
    Organization,
    TestClock,
)
from bxb.webhooks import outbox


async def lock_invoice(
    session: AsyncSession, organization_id: uuid.UUID, invoice_id: uuid.UUID
) -> Invoice | None:
    """The invoice, locked until the commit (credit notes on it are serialized)."""
    invoice: Invoice | None = await session.scalar(
        select(Invoice)
        .where(Invoice.organization_id == organization_id, Invoice.id == invoice_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return invoice


async def creditable_invoice(session: AsyncSession, invoice: Invoice) -> CreditableInvoice:
    """What earlier credit notes (voided ones included) took from each fee of `invoice`."""
    rows = await session.execute(
        select(
            CreditNoteItem.fee_id,
            func.sum(CreditNoteItem.amount_cents),
            func.sum(CreditNoteItem.coupons_adjustment_amount_cents),
            func.sum(CreditNoteItem.taxes_amount_cents),
        )
        .join(CreditNote, CreditNote.id == CreditNoteItem.credit_note_id)
        .where(CreditNote.invoice_id == invoice.id)
        .group_by(CreditNoteItem.fee_id)
    )
    credited = {fee_id: (int(a), int(c), int(t)) for fee_id, a, c, t in rows}
    refunded = await session.scalar(
        select(func.coalesce(func.sum(CreditNote.refund_amount_cents), 0)).where(
            CreditNote.invoice_id == invoice.id
        )
    )
    return CreditableInvoice(
        fees=tuple(
            CreditableFee(
                str(fee.id),
                fee.amount_cents,
                fee.coupons_amount_cents,
                fee.taxes_amount_cents,
                fee.taxes_rate,
                *credited.get(fee.id, (0, 0, 0)),
            )
            for fee in invoice.fees
        ),
        total_paid_amount_cents=invoice.total_paid_amount_cents,
        refunded_amount_cents=int(refunded or 0),
    )


async def customer_now(session: AsyncSession, customer: Customer) -> datetime:
    """Now for the customer: its test clock's frozen time when it has one."""
    if customer.test_clock_id is not None:
        frozen = await session.scalar(
            select(TestClock.frozen_time).where(TestClock.id == customer.test_clock_id)
        )
        if frozen is not None:
            return frozen
    return datetime.now(UTC)


def note_applied_taxes(invoice: Invoice, amounts: CreditAmounts) -> list[dict[str, Any]]:
    """The note's taxes per tax of the invoice, with the base they apply to.

    Fees record their total rate, not which taxes make it up: an item's taxes go to the
    invoice's tax of that same rate, else to the taxes whose rates add up to it (split by
    rate), else over all the invoice's taxes in proportion to their amounts.
    """
    entries = [entry for entry in invoice.applied_taxes if int(entry["amount_cents"])]
    totals = {entry["tax_code"]: [0, 0] for entry in entries}  # code: [amount, base]
    for item in amounts.items:
        if not item.taxes_amount_cents or not entries:
            continue
        chosen = _taxes_of_rate(entries, item.taxes_rate)
        weights = (
            [int(Decimal(str(e["tax_rate"])) * 100_000) for e in chosen]
            if chosen
            else [int(e["amount_cents"]) for e in entries]
        )
        chosen = chosen or entries
        shares = split_in_proportion(item.taxes_amount_cents, weights)
        for entry, share in zip(chosen, shares, strict=True):
            totals[entry["tax_code"]][0] += share
            totals[entry["tax_code"]][1] += item.sub_total_cents
    return [
        {
            "tax_code": entry["tax_code"],
            "tax_name": entry.get("tax_name", entry["tax_code"]),
            "tax_rate": entry["tax_rate"],
            "amount_cents": totals[entry["tax_code"]][0],
            "base_amount_cents": totals[entry["tax_code"]][1],
        }
        for entry in entries
        if totals[entry["tax_code"]][0]
    ]


def _taxes_of_rate(entries: list[dict[str, Any]], rate: Decimal) -> list[dict[str, Any]]:
    same = [e for e in entries if Decimal(str(e["tax_rate"])) == rate]
    if len(same) == 1:
        return same
    if sum(Decimal(str(e["tax_rate"])) for e in entries) == rate:
        return entries
    return []


async def issue_credit_note(
    session: AsyncSession,
    invoice: Invoice,
    amounts: CreditAmounts,
    *,
    credit_amount_cents: int,
    refund_amount_cents: int,
    reason: str,
    at: datetime,
    description: str | None = None,
    metadata: dict[str, str | None] | None = None,
    idempotency_key: str | None = None,
) -> tuple[CreditNote, list[uuid.UUID]]:
    """Write a note the caller validated (invoice locked); queue credit_note.created.

    Returns the note and the webhook ids to dispatch after the commit.
    """
    customer = await session.get(Customer, invoice.customer_id)
    organization = await session.get(Organization, invoice.organization_id)
    assert customer is not None
    assert organization is not None
    previous = await session.scalar(
        select(func.max(CreditNote.sequential_id)).where(CreditNote.invoice_id == invoice.id)
    )
    sequential_id = int(previous or 0) + 1
    timezone = ZoneInfo(customer.timezone or organization.timezone or "UTC")
    note = CreditNote(
        organization_id=invoice.organization_id,
        customer_id=invoice.customer_id,
        invoice_id=invoice.id,
        sequential_id=sequential_id,
        number=f"{invoice.number}-CN{sequential_id}",
        issuing_date=local_day(at, timezone),
        reason=reason,
        description=description,
        currency=invoice.currency,
        credit_status="available" if credit_amount_cents else None,
        refund_status="pending" if refund_amount_cents else None,
        total_amount_cents=amounts.total_amount_cents,
        taxes_amount_cents=amounts.taxes_amount_cents,
        taxes_rate=amounts.taxes_rate,
        precise_taxes_amount_cents=amounts.precise_taxes_amount_cents,
        sub_total_excluding_taxes_amount_cents=amounts.sub_total_excluding_taxes_amount_cents,
        coupons_adjustment_amount_cents=amounts.coupons_adjustment_amount_cents,
        precise_coupons_adjustment_amount_cents=amounts.precise_coupons_adjustment_amount_cents,
        credit_amount_cents=credit_amount_cents,
        refund_amount_cents=refund_amount_cents,
        balance_amount_cents=credit_amount_cents,
        applied_taxes=note_applied_taxes(invoice, amounts),
        metadata_=metadata,
        idempotency_key=idempotency_key,
        created_at=at,
        updated_at=at,
    )
    note.items = [
        CreditNoteItem(
            organization_id=invoice.organization_id,
            fee_id=uuid.UUID(item.fee_id),
            position=position,
            amount_cents=item.amount_cents,
            amount_currency=invoice.currency,
            coupons_adjustment_amount_cents=item.coupons_adjustment_cents,
            taxes_amount_cents=item.taxes_amount_cents,
        )
        for position, item in enumerate(amounts.items)
    ]
    session.add(note)
    await session.flush()
    return note, await created_webhook(session, note)


async def created_webhook(session: AsyncSession, note: CreditNote) -> list[uuid.UUID]:
    """Queue credit_note.created (idempotent: emitting again returns the same ids)."""
    from bxb.api.schemas.credit_notes import credit_note_objects  # serializers live in api/

    (data,) = await credit_note_objects(session, [note])
    payload = {
        "webhook_type": "credit_note.created",
        "object_type": "credit_note",
        "credit_note": data,
    }
    return await outbox.emit(session, note.organization_id, "credit_note.created", note.id, payload)


async def void_credit_note(session: AsyncSession, note: CreditNote, at: datetime) -> bool:
    """Give up the note's remaining credit; False when nothing is left to void."""
    if note.credit_status != "available" or note.balance_amount_cents <= 0:
        return False
    note.credit_status = "voided"
    note.balance_amount_cents = 0
    note.voided_at = at
    return True


async def apply_credit_notes(session: AsyncSession, invoice: Invoice, at: datetime) -> int:
    """Consume the customer's available credit-note balances against the invoice.

    Called inside the finalizing transaction before wallets. Reduces the invoice's total
    by what it consumes, sets `invoice.credit_notes_amount_cents` (adding to what is
    there), and returns the amount consumed in cents. Idempotent: when credits were
    already applied to this invoice, returns their sum and changes nothing.
    """
    recorded = await session.scalar(
        select(func.sum(CreditNoteApplication.amount_cents)).where(
            CreditNoteApplication.invoice_id == invoice.id
        )
    )
    if recorded is not None:
        return int(recorded)
    notes = list(
        await session.scalars(
            select(CreditNote)
            .where(
                CreditNote.customer_id == invoice.customer_id,
                CreditNote.currency == invoice.currency,
                CreditNote.credit_status == "available",
                CreditNote.balance_amount_cents > 0,
                CreditNote.invoice_id != invoice.id,
            )
            .order_by(CreditNote.created_at, CreditNote.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    by_id = {str(note.id): note for note in notes}
    taken = consume_balances(
        [(str(note.id), note.balance_amount_cents) for note in notes], invoice.total_amount_cents
    )
    for note_id, amount in taken:
        note = by_id[note_id]
        note.balance_amount_cents -= amount
        if note.balance_amount_cents == 0:
            note.credit_status = "consumed"
        note.updated_at = at
        session.add(
            CreditNoteApplication(
                organization_id=invoice.organization_id,
                credit_note_id=note.id,
                invoice_id=invoice.id,
                amount_cents=amount,
                amount_currency=invoice.currency,
                created_at=at,
            )
        )
    consumed = sum(amount for _, amount in taken)
    invoice.credit_notes_amount_cents += consumed
    invoice.total_amount_cents -= consumed
    await session.flush()
    return consumed


async def release_applied_credits(session: AsyncSession, invoice: Invoice, at: datetime) -> int:
    """Give back the credit a voided invoice consumed; returns the amount released.

    Notes voided meanwhile stay voided (their balance is not revived).
    """
    applications = list(
        await session.scalars(
            select(CreditNoteApplication).where(CreditNoteApplication.invoice_id == invoice.id)
        )
    )
    if not applications:
        return 0
    notes = {
        note.id: note
        for note in await session.scalars(
            select(CreditNote)
            .where(CreditNote.id.in_([a.credit_note_id for a in applications]))
            .order_by(CreditNote.created_at, CreditNote.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    released = 0
    for application in applications:
        note = notes[application.credit_note_id]
        if note.credit_status != "voided":
            note.balance_amount_cents += application.amount_cents
            note.credit_status = "available"
            note.updated_at = at
            released += application.amount_cents
        await session.delete(application)
    await session.flush()
    return released


async def credit_unused_fee(
    session: AsyncSession, fee: Fee, amount_cents: int, *, reason: str, at: datetime
) -> CreditNote | None:
    """Credit `amount_cents` of a fee (before coupons, excluding taxes) with its taxes.

    A credit-only note on the fee's finalized invoice, capped by what remains creditable
    on the fee; None when nothing is (or the invoice is not finalized). Idempotent per
    (fee, reason): a retried activity gets the same note back.
    """
    key = f"fee:{fee.id}:{reason}"
    invoice = await lock_invoice(session, fee.organization_id, fee.invoice_id)
    if invoice is None:
        return None
    existing = await _by_key(session, key)
    if existing is not None or invoice.status != "finalized":
        return existing
    state = await creditable_invoice(session, invoice)
    amount = min(amount_cents, state.fee(str(fee.id)).remaining_amount_cents)
    if amount <= 0:
        return None
    amounts = compute_credit(state, [CreditItem(str(fee.id), amount)])
    if amounts.total_amount_cents <= 0:
        return None
    note, _ = await issue_credit_note(
        session,
        invoice,
        amounts,
        credit_amount_cents=amounts.total_amount_cents,
        refund_amount_cents=0,
        reason=reason,
        at=at,
        idempotency_key=key,
    )
    return note


async def credit_paid_amount_of_voided_invoice(
    session: AsyncSession, invoice: Invoice, at: datetime
) -> CreditNote | None:
    """Turn what was paid on a voided invoice into credit (reason "other").

    The note credits the fees in proportion, worth exactly the payments not yet refunded
    (capped by what remains creditable); None when nothing was paid. Idempotent per invoice.
    """
    key = f"voided_invoice:{invoice.id}"
    locked = await lock_invoice(session, invoice.organization_id, invoice.id)
    assert locked is not None
    existing = await _by_key(session, key)
    if existing is not None:
        return existing
    state = await creditable_invoice(session, locked)
    target = min(
        locked.total_paid_amount_cents - state.refunded_amount_cents,
        state.remaining_creditable_cents,
    )
    if target <= 0:
        return None
    amounts = credit_for_total(state, target)
    if amounts.total_amount_cents <= 0:
        return None
    note, _ = await issue_credit_note(
        session,
        locked,
        amounts,
        credit_amount_cents=amounts.total_amount_cents,
        refund_amount_cents=0,
        reason="other",
        at=at,
        idempotency_key=key,
    )
    return note


async def _by_key(session: AsyncSession, key: str) -> CreditNote | None:
    note: CreditNote | None = await session.scalar(
        select(CreditNote).where(CreditNote.idempotency_key == key)
    )
    return note
