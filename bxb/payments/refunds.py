"""Refunding a credit note's refund part through the payment provider, exactly once.

What is refunded: the note's `refund_amount_cents`, taken back from the succeeded Stripe
payments of its invoice, oldest first, never more from a payment than its amount minus
what other notes already take back from it. Money that reached bxb some other way (a
manual payment) cannot be returned by the provider: that part is the operator's to pay
back, and the note's refund_status stays `pending` until set with PUT /credit_notes/{id}.

Exactly once: the plan (one CreditNoteRefund row per payment) is committed before the
provider is called. Each row is then resolved in its own transaction, with the invoice and
the note locked: the provider is first asked for a refund of that PaymentIntent carrying
the row's metadata (left by a run that crashed after the provider answered), and only when
there is none is the refund made, with the idempotency key `<note id>-<payment id>`.
localstripe ignores idempotency keys and Stripe forgets them after a day, so the lookup is
what guarantees it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Literal, TypeVar

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.db import transaction
from bxb.core.settings import Settings
from bxb.ledger.invoicing import lock_invoice
from bxb.models import CreditNote, CreditNoteRefund, Customer, Invoice, Payment
from bxb.payments.collect import provider_for
from bxb.payments.provider import PaymentProvider, RefundResult
from bxb.webhooks import outbox

log = logging.getLogger(__name__)

# Lago's webhook when the provider refuses a refund (its OpenAPI's name for it).
REFUND_FAILURE = "credit_note.refund_failure"
K = TypeVar("K")

RefundOutcomeStatus = Literal[
    # succeeded: all refunded; failed: the provider refused; pending: the provider is
    # still processing; manual: what the provider could give back is done (maybe nothing),
    # the rest was paid otherwise; nothing_to_refund: no note, or no refund part.
    "succeeded",
    "failed",
    "pending",
    "manual",
    "no_provider",
    "nothing_to_refund",
]


class RefundOutcome(BaseModel):
    status: RefundOutcomeStatus
    refunded_amount_cents: int = 0
    # Webhooks committed by this run; the caller dispatches them.
    webhook_ids: list[uuid.UUID] = []


def allocate(amount_cents: int, sources: Sequence[tuple[K, int]]) -> list[tuple[K, int]]:
    """Take `amount_cents` from the sources in order, at most what each can give."""
    taken: list[tuple[K, int]] = []
    left = amount_cents
    for key, available in sources:
        share = min(left, available)
        if share > 0:
            taken.append((key, share))
            left -= share
    return taken


async def refund_credit_note(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    credit_note_id: uuid.UUID,
    at: datetime,
) -> RefundOutcome:
    """Refund the note through the provider (idempotent: run it as often as needed)."""
    provider = provider_for(settings)
    async with transaction(sessions) as session:
        planned = await _plan(session, provider, credit_note_id)
    if isinstance(planned, RefundOutcome):
        return planned
    for row_id in planned:
        assert provider is not None  # _plan answers no_provider otherwise
        async with transaction(sessions) as session:
            await _refund_row(session, provider, credit_note_id, row_id, at)
    async with transaction(sessions) as session:
        return await _conclude(session, credit_note_id, at)


async def _locked(
    session: AsyncSession, credit_note_id: uuid.UUID
) -> tuple[Invoice, CreditNote] | None:
    """The note and its invoice, locked in the API's order (invoice, then note)."""
    invoice_id = await session.scalar(
        select(CreditNote.invoice_id).where(CreditNote.id == credit_note_id)
    )
    if invoice_id is None:
        return None
    invoice = await lock_invoice(session, invoice_id)
    note = await session.scalar(
        select(CreditNote)
        .where(CreditNote.id == credit_note_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert invoice is not None
    assert note is not None
    return invoice, note


async def _rows(session: AsyncSession, credit_note_id: uuid.UUID) -> list[CreditNoteRefund]:
    rows = await session.scalars(
        select(CreditNoteRefund)
        .where(CreditNoteRefund.credit_note_id == credit_note_id)
        .order_by(CreditNoteRefund.created_at, CreditNoteRefund.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def _plan(
    session: AsyncSession, provider: PaymentProvider | None, credit_note_id: uuid.UUID
) -> RefundOutcome | list[uuid.UUID]:
    """The note's refund rows still to resolve, written now if this is the first run."""
    locked = await _locked(session, credit_note_id)
    if locked is None:
        return RefundOutcome(status="nothing_to_refund")
    invoice, note = locked
    if note.refund_status != "pending" or note.refund_amount_cents <= 0:
        return await _settled(session, note)
    rows = await _rows(session, note.id)
    if not rows:
        payments = await _provider_payments(session, invoice)
        if payments and provider is None:
            log.warning("credit note %s: stripe payments but STRIPE_API_KEY is unset", note.id)
            return RefundOutcome(status="no_provider")
        rows = await _write_plan(session, note, payments)
        if not rows:
            return RefundOutcome(status="manual")
    pending = [row.id for row in rows if row.status == "pending"]
    if pending and provider is None:
        return RefundOutcome(status="no_provider")
    return pending


async def _provider_payments(session: AsyncSession, invoice: Invoice) -> list[Payment]:
    """Money the provider collected for the invoice, oldest first."""
    payments = await session.scalars(
        select(Payment)
        .where(
            Payment.invoice_id == invoice.id,
            Payment.status == "succeeded",
            Payment.provider == "stripe",
            Payment.provider_payment_id.is_not(None),
        )
        .order_by(Payment.created_at, Payment.id)
    )
    return list(payments)


async def _write_plan(
    session: AsyncSession, note: CreditNote, payments: list[Payment]
) -> list[CreditNoteRefund]:
    """Split the refund over the payments; committed before the provider is called.

    The invoice is locked, so two notes of one invoice never plan on the same money.
    """
    if not payments:
        return []
    sums = await session.execute(
        select(CreditNoteRefund.payment_id, func.sum(CreditNoteRefund.amount_cents))
        .where(
            CreditNoteRefund.payment_id.in_([p.id for p in payments]),
            CreditNoteRefund.status != "failed",
        )
        .group_by(CreditNoteRefund.payment_id)
    )
    taken = {payment_id: int(amount) for payment_id, amount in sums.all()}
    shares = allocate(
        note.refund_amount_cents,
        [(p, p.amount_cents - taken.get(p.id, 0)) for p in payments],
    )
    rows = [
        CreditNoteRefund(
            organization_id=note.organization_id,
            credit_note_id=note.id,
            payment_id=payment.id,
            provider=payment.provider,
            amount_cents=amount,
            currency=payment.currency,
            status="pending",
            idempotency_key=f"{note.id}-{payment.id}",
        )
        for payment, amount in shares
    ]
    session.add_all(rows)
    await session.flush()
    return rows


async def _refund_row(
    session: AsyncSession,
    provider: PaymentProvider,
    credit_note_id: uuid.UUID,
    row_id: uuid.UUID,
    at: datetime,
) -> None:
    """Resolve one row: find its refund at the provider, else make it."""
    locked = await _locked(session, credit_note_id)
    assert locked is not None
    _, note = locked
    row = await session.get(CreditNoteRefund, row_id, with_for_update=True, populate_existing=True)
    if row is None or row.status != "pending" or note.refund_status != "pending":
        return  # resolved by another run, or the operator settled the note meanwhile
    payment = await session.get(Payment, row.payment_id)
    assert payment is not None
    assert payment.provider_payment_id is not None
    metadata = {"lago_credit_note_id": str(note.id), "lago_payment_id": str(payment.id)}
    result = await provider.find_refund(payment.provider_payment_id, metadata)
    if result is None:
        result = await provider.refund(
            payment.provider_payment_id,
            row.amount_cents,
            row.currency,
            row.idempotency_key,
            metadata,
        )
    _record(row, result, at)


def _record(row: CreditNoteRefund, result: RefundResult, at: datetime) -> None:
    if result.provider_refund_id:
        row.provider_refund_id = result.provider_refund_id
    if result.status == "succeeded":
        row.status = "succeeded"
        row.refunded_at = at
    elif result.status == "failed":
        row.status = "failed"
        row.failure_code = result.failure_code
        row.failure_message = result.failure_message


async def _conclude(
    session: AsyncSession, credit_note_id: uuid.UUID, at: datetime
) -> RefundOutcome:
    """The note's refund_status from its rows (pending while the provider processes)."""
    locked = await _locked(session, credit_note_id)
    assert locked is not None
    _, note = locked
    if note.refund_status != "pending":
        return await _settled(session, note)
    rows = await _rows(session, note.id)
    refunded = sum(row.amount_cents for row in rows if row.status == "succeeded")
    if any(row.status == "pending" for row in rows):
        return RefundOutcome(status="pending", refunded_amount_cents=refunded)
    refused = [row for row in rows if row.status == "failed"]
    if refused:
        note.refund_status = "failed"
        note.updated_at = at
        webhooks = await _failure_webhook(session, note, refused[0])
        return RefundOutcome(status="failed", refunded_amount_cents=refunded, webhook_ids=webhooks)
    if refunded >= note.refund_amount_cents:
        note.refund_status = "succeeded"
        note.refunded_at = at
        note.updated_at = at
        return RefundOutcome(status="succeeded", refunded_amount_cents=refunded)
    return RefundOutcome(status="manual", refunded_amount_cents=refunded)


async def _settled(session: AsyncSession, note: CreditNote) -> RefundOutcome:
    """A note whose refund is over (or was never asked): what it says, and any webhook a
    crashed run left undispatched."""
    refunded = await session.scalar(
        select(func.coalesce(func.sum(CreditNoteRefund.amount_cents), 0)).where(
            CreditNoteRefund.credit_note_id == note.id, CreditNoteRefund.status == "succeeded"
        )
    )
    status: RefundOutcomeStatus = "nothing_to_refund"
    if note.refund_status in ("succeeded", "failed"):
        status = "succeeded" if note.refund_status == "succeeded" else "failed"
    return RefundOutcome(
        status=status,
        refunded_amount_cents=int(refunded or 0),
        webhook_ids=await outbox.undelivered(session, note.id),
    )


async def _failure_webhook(
    session: AsyncSession, note: CreditNote, row: CreditNoteRefund
) -> list[uuid.UUID]:
    """Queue credit_note.refund_failure (Lago's CreditNotePaymentProviderRefundError)."""
    customer = await session.get(Customer, note.customer_id)
    assert customer is not None
    error = {
        "lago_credit_note_id": str(note.id),
        "lago_customer_id": str(customer.id),
        "external_customer_id": customer.external_id,
        "provider_customer_id": customer.provider_customer_id,
        "payment_provider": row.provider,
        "payment_provider_code": customer.payment_provider_code,
        "provider_error": {"message": row.failure_message, "error_code": row.failure_code},
    }
    payload = {"credit_note_payment_provider_refund_error": error}
    return await outbox.emit(session, note.organization_id, REFUND_FAILURE, note.id, payload)
