"""Issuing a credit note: the invoice's lock and state, the note's rows and webhook.

Limits are decided by the pure core (bxb.billing.credit_notes) from the invoice's state,
read while the invoice row is locked FOR UPDATE, so two concurrent notes on one invoice
are serialized and cannot together exceed what it allows.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.billing.credit_notes import (
    CreditableFee,
    CreditableInvoice,
    CreditAmounts,
    split_in_proportion,
)
from bxb.billing.periods import local_day
from bxb.core.customer_clock import customer_zone
from bxb.lago_objects.credit_notes import credit_note_objects
from bxb.ledger.billing_parties import credit_note_written
from bxb.models import CreditNote, CreditNoteItem, Customer, Fee, Invoice, Organization
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
    for fee_id, amount in (await unused_days_given_back(session, invoice)).items():
        a, c, t = credited.get(fee_id, (0, 0, 0))
        credited[fee_id] = (a + amount, c, t)
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
            if not is_deduction(invoice, fee)
            else CreditableFee(str(fee.id), 0, 0, 0, fee.taxes_rate)
            for fee in invoice.fees
        ),
        total_paid_amount_cents=invoice.total_paid_amount_cents,
        refunded_amount_cents=int(refunded or 0),
    )


def is_deduction(invoice: Invoice, fee: Fee) -> bool:
    """A credit line for unused prepaid days: it lowered the invoice, billed nothing, so
    nothing of it can be credited (a top-up's `credit` fee is what the top-up bills)."""
    return fee.fee_type == "credit" and invoice.invoice_type != "credit"


async def unused_days_given_back(session: AsyncSession, invoice: Invoice) -> dict[uuid.UUID, int]:
    """What credit lines for unused prepaid days already gave back of each base fee.

    Such a line is written on a later invoice (a plan change, a termination) when this
    one was still a draft and could not carry a credit note; once both are finalized, the
    line counts as credited on the fee whose period holds its days.
    """
    given: dict[uuid.UUID, int] = {}
    for fee in invoice.fees:
        if fee.fee_type != "subscription" or fee.from_datetime is None or fee.to_datetime is None:
            continue
        amount = await session.scalar(
            select(func.coalesce(func.sum(Fee.amount_cents), 0))
            .join(Invoice, Invoice.id == Fee.invoice_id)
            .where(
                Fee.fee_type == "credit",
                Invoice.invoice_type == "subscription",
                Invoice.status == "finalized",
                Invoice.id != invoice.id,
                Fee.subscription_id == fee.subscription_id,
                Fee.from_datetime >= fee.from_datetime,
                Fee.to_datetime <= fee.to_datetime,
            )
        )
        if amount:
            given[fee.id] = int(amount)
    return given


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
    timezone = customer_zone(customer, organization)
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
    if credit_amount_cents:
        credit_note_written(session, invoice.customer_id)
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
    (data,) = await credit_note_objects(session, [note])
    payload = {
        "webhook_type": "credit_note.created",
        "object_type": "credit_note",
        "credit_note": data,
    }
    return await outbox.emit(session, note.organization_id, "credit_note.created", note.id, payload)
