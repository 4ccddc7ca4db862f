"""Credit notes in the ledger: spending their credit, and the notes bxb issues itself.

Balances are spent oldest first by later invoices of the customer, under row locks on the
notes. Notes bxb issues (unused prepaid days, a voided invoice's payments) are idempotent
on a business key, so a retried activity never credits twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.billing.credit_notes import (
    CreditItem,
    compute_credit,
    consume_balances,
    credit_for_total,
)
from bxb.ledger.billing_parties import available_credit_notes, may_hold
from bxb.ledger.credit_note_issuing import (
    creditable_invoice,
    issue_credit_note,
    lock_invoice,
)
from bxb.models import CreditNote, CreditNoteApplication, Fee, Invoice


async def void_credit_note(session: AsyncSession, note: CreditNote, at: datetime) -> bool:
    """Give up the note's remaining credit; False when nothing is left to void."""
    if note.credit_status != "available" or note.balance_amount_cents <= 0:
        return False
    note.credit_status = "voided"
    note.balance_amount_cents = 0
    note.voided_at = at
    return True


async def apply_credit_notes(
    session: AsyncSession, invoice: Invoice, at: datetime, *, written_now: bool = False
) -> int:
    """Consume the customer's available credit-note balances against the invoice.

    Called inside the finalizing transaction before wallets. Reduces the invoice's total
    by what it consumes, sets `invoice.credit_notes_amount_cents` (adding to what is
    there), and returns the amount consumed in cents. Idempotent: when credits were
    already applied to this invoice, returns their sum and changes nothing (not asked
    when the invoice was `written_now` by this transaction).
    """
    if not written_now:
        recorded = await session.scalar(
            select(func.sum(CreditNoteApplication.amount_cents)).where(
                CreditNoteApplication.invoice_id == invoice.id
            )
        )
        if recorded is not None:
            return int(recorded)
    notes: list[CreditNote] = []
    if may_hold(session, invoice.customer_id, "credit_notes"):
        notes = list(
            await session.scalars(
                select(CreditNote)
                .where(
                    *available_credit_notes(invoice.customer_id),
                    CreditNote.currency == invoice.currency,
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


async def value_given_back(session: AsyncSession, invoice: Invoice) -> int:
    """What the invoice's credit notes gave the customer: their refunds, and their credit
    except what a void of the note gave up unspent."""
    spent = (
        select(func.coalesce(func.sum(CreditNoteApplication.amount_cents), 0))
        .where(CreditNoteApplication.credit_note_id == CreditNote.id)
        .scalar_subquery()
    )
    given = case(
        (CreditNote.credit_status == "voided", CreditNote.refund_amount_cents + spent),
        else_=CreditNote.total_amount_cents,
    )
    total = await session.scalar(
        select(func.coalesce(func.sum(given), 0)).where(CreditNote.invoice_id == invoice.id)
    )
    return int(total or 0)


async def void_refusal(
    session: AsyncSession, invoice: Invoice, *, generate_credit_note: bool
) -> str | None:
    """Why the invoice may not be voided (Lago's 405 code), or None.

    A void gives back what the customer gave for the invoice and nothing more: money paid
    comes back as a credit note (so an invoice paid, even in part, needs
    `generate_credit_note`), and an
    invoice whose credit notes already gave back more than was paid for it (in money or
    prepaid credits) cannot be voided, since that credit can no longer be taken back.
    """
    if invoice.status != "finalized":
        return "not_voidable"
    paid = invoice.payment_status == "succeeded" or invoice.total_paid_amount_cents > 0
    if paid and not generate_credit_note:
        return "not_voidable"
    received = invoice.total_paid_amount_cents + invoice.prepaid_credit_amount_cents
    if await value_given_back(session, invoice) > received:
        return "not_voidable"
    return None


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
    if fee.invoice_id is None:  # a non-invoiceable instant fee: no invoice to credit
        return None
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


KEEP_AS_LINE = "keep_as_line"


async def credit_unused_days(
    session: AsyncSession, credit: Fee, at: datetime
) -> CreditNote | str | None:
    """Give back unused prepaid days against the fee that billed them, never twice.

    Billed on a finalized invoice: a credit note on it, capped by what remains creditable
    of that fee (None when nothing does). Billed on an invoice still in draft: KEEP_AS_LINE,
    a credit line here, which that fee counts as credited once it is finalized. Billed by
    no live invoice (never, or voided): None, as there is nothing to give back.
    """
    assert credit.from_datetime is not None
    assert credit.to_datetime is not None
    found = (
        await session.execute(
            select(Fee, Invoice.status)
            .join(Invoice, Invoice.id == Fee.invoice_id)
            .where(
                Fee.subscription_id == credit.subscription_id,
                Fee.fee_type == "subscription",
                Invoice.status.in_(("finalized", "draft")),
                Fee.from_datetime <= credit.from_datetime,
                Fee.to_datetime >= credit.to_datetime,
            )
            .order_by(Fee.created_at.desc())
            .limit(1)
        )
    ).first()
    if found is None:
        return None
    billed, status = found
    if status == "draft":
        return KEEP_AS_LINE
    return await credit_unused_fee(
        session, billed, credit.amount_cents, reason="order_change", at=at
    )


async def credit_paid_amount_of_voided_invoice(
    session: AsyncSession, invoice: Invoice, at: datetime
) -> CreditNote | None:
    """Turn what was paid on a voided invoice into credit (reason "other").

    The note credits the fees in proportion, worth exactly the payments not yet given back
    by earlier notes (refunded or credited; capped by what remains creditable), so the void
    returns the money paid and no more; None when nothing is left. Idempotent per invoice.
    """
    key = f"voided_invoice:{invoice.id}"
    locked = await lock_invoice(session, invoice.organization_id, invoice.id)
    assert locked is not None
    existing = await _by_key(session, key)
    if existing is not None:
        return existing
    state = await creditable_invoice(session, locked)
    target = min(
        locked.total_paid_amount_cents - await value_given_back(session, locked),
        state.remaining_creditable_cents,
    )
    if target <= 0:
        return None
    amounts = credit_for_total(state, target)  # worth target: something is creditable
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
