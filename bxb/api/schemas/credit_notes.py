"""Credit note requests, and Lago's CreditNote object (and invoice "credits") from rows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.api.schemas.bounds import Cents, FreeText
from bxb.api.schemas.customers import customer_object
from bxb.api.serialization import decimal_string, iso
from bxb.api.taxes import applied_taxes
from bxb.models import (
    AppliedTax,
    CreditNote,
    CreditNoteApplication,
    Customer,
    Fee,
    Invoice,
    Organization,
    Tax,
)

Reason = Literal[
    "duplicated_charge",
    "product_unsatisfactory",
    "order_change",
    "order_cancellation",
    "fraudulent_charge",
    "other",
]
RefundStatus = Literal["pending", "succeeded", "failed"]
CreditStatus = Literal["available", "consumed", "voided"]
LagoId = Annotated[str, Field(max_length=64)]  # a UUID, parsed by the route


def check_metadata(value: dict[str, str | None]) -> dict[str, str | None]:
    """Lago's limits: keys up to 100 characters, values up to 255."""
    if any(not key or len(key) > 100 for key in value):
        raise ValueError("invalid_key")
    if any(item is not None and len(item) > 255 for item in value.values()):
        raise ValueError("value_is_too_long")
    return value


Metadata = Annotated[dict[str, str | None], AfterValidator(check_metadata)]


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    fee_id: LagoId
    amount_cents: Cents


class EstimateIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    invoice_id: LagoId
    items: list[ItemIn] = Field(min_length=1)


class CreditNoteIn(EstimateIn):
    reason: Reason | None = None
    description: FreeText | None = None
    credit_amount_cents: Cents | None = None
    refund_amount_cents: Cents | None = None
    offset_amount_cents: Cents | None = None
    metadata: Metadata | None = None


class CreditNoteCreateBody(BaseModel):
    credit_note: CreditNoteIn


class CreditNoteEstimateBody(BaseModel):
    credit_note: EstimateIn


class CreditNoteUpdateIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    refund_status: RefundStatus | None = None
    metadata: Metadata | None = None


class CreditNoteUpdateBody(BaseModel):
    credit_note: CreditNoteUpdateIn


# --- objects ---------------------------------------------------------------------------


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


def fee_object(fee: Fee, invoice: Invoice, customer: Customer) -> dict[str, Any]:
    """The minimal fee object a credit note item carries."""
    return {
        "lago_id": str(fee.id),
        "lago_charge_id": str(fee.charge_id) if fee.charge_id else None,
        "lago_charge_filter_id": str(fee.charge_filter_id) if fee.charge_filter_id else None,
        "lago_invoice_id": str(invoice.id),
        "lago_subscription_id": str(fee.subscription_id) if fee.subscription_id else None,
        "lago_customer_id": str(customer.id),
        "external_customer_id": customer.external_id,
        "amount_cents": fee.amount_cents,
        "amount_currency": fee.amount_currency,
        "taxes_amount_cents": fee.taxes_amount_cents,
        "taxes_rate": float(fee.taxes_rate),
        "total_amount_cents": fee.amount_cents + fee.taxes_amount_cents,
        "total_amount_currency": fee.amount_currency,
        "sub_total_excluding_taxes_amount_cents": fee.amount_cents - fee.coupons_amount_cents,
        "units": decimal_string(fee.units),
        "events_count": fee.events_count,
        "payment_status": invoice.payment_status,
        "from_date": iso(fee.from_datetime),
        "to_date": iso(fee.to_datetime),
        "created_at": iso(fee.created_at),
        "description": fee.description,
        "item": {
            "type": fee.fee_type,
            "code": fee.item_code,
            "name": fee.description,
            "invoice_display_name": fee.description,
        },
    }


async def _by_id(session: AsyncSession, model: Any, ids: set[uuid.UUID]) -> dict[uuid.UUID, Any]:
    return {row.id: row for row in await session.scalars(select(model).where(model.id.in_(ids)))}


async def taxes_by_code(
    session: AsyncSession, organization_id: uuid.UUID, codes: set[str]
) -> dict[str, Tax]:
    if not codes:
        return {}
    rows = await session.scalars(
        select(Tax).where(Tax.organization_id == organization_id, Tax.code.in_(codes))
    )
    return {tax.code: tax for tax in rows}


async def credit_note_objects(
    session: AsyncSession, notes: Sequence[CreditNote]
) -> list[dict[str, Any]]:
    """Lago's CreditNote objects (with customer) for notes of one organization, in order."""
    if not notes:
        return []
    organization = await session.get(Organization, notes[0].organization_id)
    assert organization is not None
    invoices = await _by_id(session, Invoice, {note.invoice_id for note in notes})
    customers = await _by_id(session, Customer, {note.customer_id for note in notes})
    customer_taxes = await applied_taxes(session, AppliedTax.customer_id, list(customers))
    fees = await _by_id(session, Fee, {item.fee_id for note in notes for item in note.items})
    codes = {entry["tax_code"] for note in notes for entry in note.applied_taxes}
    taxes = await taxes_by_code(session, organization.id, codes)
    objects = []
    for note in notes:
        invoice, customer = invoices[note.invoice_id], customers[note.customer_id]
        data = _note_dict(note, invoice, taxes)
        data["items"] = [
            {
                "lago_id": str(item.id),
                "amount_cents": item.amount_cents,
                "amount_currency": item.amount_currency,
                "fee": fee_object(fees[item.fee_id], invoice, customer),
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
