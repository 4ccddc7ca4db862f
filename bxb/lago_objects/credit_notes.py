"""Lago's CreditNote object, and an invoice's `credits` from its credit notes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.lago_objects.customers import customer_object
from bxb.lago_objects.fees import fee_objects
from bxb.lago_objects.formats import iso
from bxb.lago_objects.rows import rows_by_id
from bxb.lago_objects.taxes import applied_taxes, taxes_by_code
from bxb.models import (
    AppliedTax,
    BillingEntity,
    CreditNote,
    CreditNoteApplication,
    Customer,
    Fee,
    Invoice,
    Organization,
    Tax,
)


def applied_tax_objects(
    owner_id: uuid.UUID,
    entries: Sequence[dict[str, Any]],
    currency: str,
    taxes: dict[str, Tax],
    created_at: str | None,
) -> list[dict[str, Any]]:
    """A note's (or estimate's) applied taxes in Lago's shape."""
    objects = []
    for entry in entries:
        tax = taxes.get(entry["tax_code"])
        objects.append(
            {
                "lago_id": str(uuid.uuid5(owner_id, f"tax:{entry['tax_code']}")),
                "lago_credit_note_id": str(owner_id),
                "lago_tax_id": str(tax.id) if tax else None,
                "tax_name": entry["tax_name"],
                "tax_code": entry["tax_code"],
                "tax_rate": float(entry["tax_rate"]),
                "tax_description": tax.description if tax else None,
                "amount_cents": int(entry["amount_cents"]),
                "amount_currency": currency,
                "base_amount_cents": int(entry["base_amount_cents"]),
                "created_at": created_at,
            }
        )
    return objects


async def credit_note_objects(
    session: AsyncSession, notes: Sequence[CreditNote]
) -> list[dict[str, Any]]:
    """Lago's CreditNote objects (with customer) for notes of one organization, in order."""
    if not notes:
        return []
    organization = await session.get(Organization, notes[0].organization_id)
    assert organization is not None
    invoices = await rows_by_id(session, Invoice, {note.invoice_id for note in notes})
    customers = await rows_by_id(session, Customer, {note.customer_id for note in notes})
    customer_taxes = await applied_taxes(session, AppliedTax.customer_id, list(customers))
    fee_rows = await rows_by_id(
        session, Fee, {item.fee_id for note in notes for item in note.items}
    )
    # Lago's credit note item carries the whole fee (V1::FeeSerializer).
    fees = dict(zip(fee_rows, await fee_objects(session, list(fee_rows.values())), strict=True))
    codes = {entry["tax_code"] for note in notes for entry in note.applied_taxes}
    taxes = await taxes_by_code(session, organization.id, codes)
    entities = await rows_by_id(
        session,
        BillingEntity,
        {i.billing_entity_id for i in invoices.values() if i.billing_entity_id},
    )
    objects = []
    for note in notes:
        invoice, customer = invoices[note.invoice_id], customers[note.customer_id]
        data = _note_dict(note, invoice, taxes)
        # The billing entity of the invoice it credits.
        entity = entities.get(invoice.billing_entity_id) if invoice.billing_entity_id else None
        data["billing_entity_code"] = entity.code if entity else None
        data["items"] = [
            {
                "lago_id": str(item.id),
                "amount_cents": item.amount_cents,
                "amount_currency": item.amount_currency,
                "fee": fees[item.fee_id],
            }
            for item in note.items
        ]
        data["customer"] = customer_object(
            customer, organization, customer_taxes.get(customer.id, [])
        )
        objects.append(data)
    return objects


def _note_dict(note: CreditNote, invoice: Invoice, taxes: dict[str, Tax]) -> dict[str, Any]:
    created_at = iso(note.created_at)
    return {
        "lago_id": str(note.id),
        "billing_entity_code": None,
        "sequential_id": note.sequential_id,
        "number": note.number,
        "lago_invoice_id": str(invoice.id),
        "invoice_number": invoice.number or "",
        "issuing_date": note.issuing_date.isoformat(),
        "credit_status": note.credit_status,
        "refund_status": note.refund_status,
        "reason": note.reason,
        "description": note.description,
        "currency": note.currency,
        "total_amount_cents": note.total_amount_cents,
        "taxes_amount_cents": note.taxes_amount_cents,
        "taxes_rate": float(note.taxes_rate),
        "sub_total_excluding_taxes_amount_cents": note.sub_total_excluding_taxes_amount_cents,
        "balance_amount_cents": note.balance_amount_cents,
        "credit_amount_cents": note.credit_amount_cents,
        "refund_amount_cents": note.refund_amount_cents,
        "offset_amount_cents": 0,
        "coupons_adjustment_amount_cents": note.coupons_adjustment_amount_cents,
        "self_billed": False,
        "created_at": created_at,
        "updated_at": iso(note.updated_at),
        "voided_at": iso(note.voided_at),
        "refunded_at": iso(note.refunded_at),
        "file_url": None,
        "metadata": note.metadata_,
        "applied_taxes": applied_tax_objects(
            note.id, note.applied_taxes, note.currency, taxes, created_at
        ),
        "error_details": [],
    }


async def invoice_credits(
    session: AsyncSession, invoices: Sequence[Invoice]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """Lago's invoice `credits` from credit notes, per invoice id (one query per page)."""
    found: dict[uuid.UUID, list[dict[str, Any]]] = {invoice.id: [] for invoice in invoices}
    if not invoices:
        return found
    rows = await session.execute(
        select(CreditNoteApplication, CreditNote.number, Invoice.number)
        .join(CreditNote, CreditNote.id == CreditNoteApplication.credit_note_id)
        .join(Invoice, Invoice.id == CreditNote.invoice_id)
        .where(CreditNoteApplication.invoice_id.in_(list(found)))
        .order_by(CreditNoteApplication.created_at, CreditNote.created_at)
    )
    by_id = {invoice.id: invoice for invoice in invoices}
    for application, note_number, credited_invoice_number in rows:
        invoice = by_id[application.invoice_id]
        found[invoice.id].append(
            {
                "lago_id": str(application.id),
                "amount_cents": application.amount_cents,
                "amount_currency": application.amount_currency,
                "before_taxes": False,
                "item": {
                    "lago_item_id": str(application.credit_note_id),
                    "type": "credit_note",
                    "code": note_number,
                    "name": credited_invoice_number or "",
                },
                "invoice": {"lago_id": str(invoice.id), "payment_status": invoice.payment_status},
            }
        )
    return found
