"""/api/v1/credit_notes (Lago-compatible): credit or refund part of a finalized invoice.

- Only finalized invoices can be credited (405 invalid_type_or_status otherwise, as Lago),
  and not wallet top-up invoices (their credit lives in the wallet).
- Items name fees of the invoice (404 fee_not_found) and never exceed what remains of a
  fee; credit + refund must equal the items' total with taxes; a refund never exceeds what
  was paid minus earlier refunds (422 with Lago's codes). The invoice row is locked while
  the limits are checked and the note is written.
- A refund is recorded as `pending`; after the commit, CreditNoteRefundWorkflow gives it
  back through the payment provider (bxb.payments.refunds).
"""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.api.customers import find_customer
from bxb.api.deps import OrgDep, SessionDep, TemporalDep, reads_only
from bxb.api.errors import ApiError, not_found, validation_error
from bxb.api.list_filters import parse_filters
from bxb.api.pagination import PageDep, paginate
from bxb.api.schemas.credit_notes import (
    CreditNoteCreateBody,
    CreditNoteEstimateBody,
    CreditNoteUpdateBody,
    EstimateIn,
)
from bxb.billing.credit_notes import (
    CreditableInvoice,
    CreditAmounts,
    CreditItem,
    CreditNoteError,
    compute_credit,
    split_errors,
)
from bxb.core.customer_clock import customer_now
from bxb.core.temporal import TemporalConnector
from bxb.inputs.bounds import Cents, Day
from bxb.inputs.credit_notes import CreditStatus, Reason, RefundStatus
from bxb.lago_objects.credit_notes import applied_tax_objects, credit_note_objects
from bxb.lago_objects.taxes import taxes_by_code
from bxb.ledger.billing_entities import entity_ids_for_codes
from bxb.ledger.credit_note_issuing import (
    creditable_invoice,
    issue_credit_note,
    lock_invoice,
    note_applied_taxes,
)
from bxb.ledger.credit_notes import void_credit_note
from bxb.listings.credit_notes import CreditNoteFilters, credit_note_query
from bxb.models import CreditNote, Customer, Invoice
from bxb.models.base import utcnow
from bxb.payments.refund_starts import start_credit_note_refund
from bxb.webhooks import outbox

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["credit_notes"])


def _uuid(value: str, resource: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise not_found(resource) from None


async def _creditable(
    session: AsyncSession, organization_id: uuid.UUID, data: EstimateIn
) -> tuple[Invoice, CreditableInvoice, CreditAmounts]:
    """Lock the invoice, check its state and the items; the note the items make."""
    invoice = await lock_invoice(session, organization_id, _uuid(data.invoice_id, "invoice"))
    if invoice is None:
        raise not_found("invoice")
    if invoice.status != "finalized" or invoice.invoice_type == "credit":
        raise ApiError(405, code="invalid_type_or_status")
    fee_ids = {str(fee.id) for fee in invoice.fees}
    items = []
    for item in data.items:
        try:
            fee_id = str(uuid.UUID(item.fee_id))
        except ValueError:
            fee_id = item.fee_id
        if fee_id not in fee_ids:
            raise not_found("fee")
        items.append(CreditItem(fee_id, item.amount_cents))
    state = await creditable_invoice(session, invoice)
    try:
        amounts = compute_credit(state, items)
    except CreditNoteError as error:
        raise validation_error(error.errors) from None
    return invoice, state, amounts


async def _dispatch(temporal: TemporalConnector, webhook_ids: list[uuid.UUID]) -> None:
    """Start deliveries after the commit; the outbox redispatches what fails here."""
    if not webhook_ids:
        return
    try:
        await outbox.dispatch(await temporal.client(), webhook_ids)
    except Exception:  # the note is committed: never answer 500 (a client would retry)
        log.exception("credit_note.created dispatch failed; left to the outbox")


async def _start_refund(temporal: TemporalConnector, note: CreditNote) -> None:
    """Refund through the payment provider after the commit; a start lost here is made
    when a worker starts (resume_unstarted_refunds)."""
    try:
        await start_credit_note_refund(await temporal.client(), note.id, note.created_at)
    except Exception:  # the note is committed: never answer 500 (a client would retry)
        log.exception("credit note %s: could not start its refund", note.id)


async def _respond(session: AsyncSession, note: CreditNote) -> dict[str, Any]:
    (data,) = await credit_note_objects(session, [note])
    return {"credit_note": data}


@router.post("/credit_notes")
async def create_credit_note(
    body: CreditNoteCreateBody, org: OrgDep, session: SessionDep, temporal: TemporalDep
) -> dict[str, Any]:
    data = body.credit_note
    if data.offset_amount_cents:  # offsetting an invoice's due balance is not supported
        raise validation_error({"offset_amount_cents": ["value_is_invalid"]})
    invoice, state, amounts = await _creditable(session, org.id, data)
    credit, refund = data.credit_amount_cents or 0, data.refund_amount_cents or 0
    errors = split_errors(state, amounts, credit_amount_cents=credit, refund_amount_cents=refund)
    if errors:
        raise validation_error(errors)
    customer = await session.get(Customer, invoice.customer_id)
    assert customer is not None
    note, webhook_ids = await issue_credit_note(
        session,
        invoice,
        amounts,
        credit_amount_cents=credit,
        refund_amount_cents=refund,
        reason=data.reason or "other",
        at=await customer_now(session, customer),
        description=data.description,
        metadata=data.metadata,
    )
    await session.commit()
    await _dispatch(temporal, webhook_ids)
    if note.refund_amount_cents:
        await _start_refund(temporal, note)
    return await _respond(session, note)


@router.post("/credit_notes/estimate")
async def estimate_credit_note(
    body: CreditNoteEstimateBody, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    """What a note with these items would amount to, and how much of it may be refunded."""
    # Nothing is written: the invoice's lock ends with the request's session.
    invoice, state, amounts = await _creditable(session, org.id, body.credit_note)
    entries = note_applied_taxes(invoice, amounts)
    taxes = await taxes_by_code(session, org.id, {entry["tax_code"] for entry in entries})
    total = amounts.total_amount_cents
    return {
        "estimated_credit_note": {
            "lago_invoice_id": str(invoice.id),
            "invoice_number": invoice.number or "",
            "currency": invoice.currency,
            "taxes_amount_cents": amounts.taxes_amount_cents,
            "precise_taxes_amount_cents": float(amounts.precise_taxes_amount_cents),
            "taxes_rate": float(amounts.taxes_rate),
            "sub_total_excluding_taxes_amount_cents": (
                amounts.sub_total_excluding_taxes_amount_cents
            ),
            "max_creditable_amount_cents": min(total, state.remaining_creditable_cents),
            "max_refundable_amount_cents": min(total, state.remaining_refundable_cents),
            "max_offsettable_amount_cents": 0,
            "coupons_adjustment_amount_cents": amounts.coupons_adjustment_amount_cents,
            "precise_coupons_adjustment_amount_cents": float(
                amounts.precise_coupons_adjustment_amount_cents
            ),
            "items": [
                {"lago_fee_id": item.fee_id, "amount_cents": item.amount_cents}
                for item in amounts.items
            ],
            "applied_taxes": [
                {key: value for key, value in tax.items() if key != "lago_credit_note_id"}
                for tax in applied_tax_objects(invoice.id, entries, invoice.currency, taxes, None)
            ],
        }
    }


async def _find(
    session: AsyncSession, organization_id: uuid.UUID, lago_id: str, *, for_update: bool = False
) -> CreditNote:
    query = select(CreditNote).where(
        CreditNote.organization_id == organization_id,
        CreditNote.id == _uuid(lago_id, "credit_note"),
    )
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    note = await session.scalar(query)
    if note is None:
        raise not_found("credit_note")
    return note


@router.get("/credit_notes/{lago_id}")
async def get_credit_note(lago_id: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    return await _respond(session, await _find(session, org.id, lago_id))


@router.put("/credit_notes/{lago_id}")
async def update_credit_note(
    lago_id: str, body: CreditNoteUpdateBody, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    note = await _find(session, org.id, lago_id, for_update=True)
    data = body.credit_note
    if data.refund_status is not None:
        if not note.refund_amount_cents:  # nothing to refund, no refund status
            raise validation_error({"refund_status": ["value_is_invalid"]})
        note.refund_status = data.refund_status
        note.refunded_at = utcnow() if data.refund_status == "succeeded" else None
    if "metadata" in data.model_fields_set:
        note.metadata_ = data.metadata
    await session.commit()
    return await _respond(session, note)


@router.put("/credit_notes/{lago_id}/void")
@router.post("/credit_notes/{lago_id}/void")
async def void_note(lago_id: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    """Void the remaining credit (the lago client uses PUT; POST is accepted too)."""
    note = await _find(session, org.id, lago_id, for_update=True)
    if not await void_credit_note(session, note, utcnow()):
        raise ApiError(405, code="no_voidable_amount")
    await session.commit()
    return await _respond(session, note)


async def _page(session: AsyncSession, query: Select[CreditNote], page: PageDep) -> dict[str, Any]:
    query = query.order_by(CreditNote.created_at.desc(), CreditNote.id.desc())
    notes, meta = await paginate(session, query, page)
    return {
        "credit_notes": await credit_note_objects(session, notes),
        "meta": meta.model_dump(),
    }


@router.get("/credit_notes")
@reads_only
async def list_credit_notes(
    org: OrgDep,
    session: SessionDep,
    page: PageDep,
    external_customer_id: str | None = None,
    invoice_number: str | None = None,
    reason: Reason | None = None,
    credit_status: CreditStatus | None = None,
    refund_status: RefundStatus | None = None,
    currency: str | None = None,
    issuing_date_from: Day | None = None,
    issuing_date_to: Day | None = None,
    amount_from: Cents | None = None,
    amount_to: Cents | None = None,
    billing_entity_codes: Annotated[list[str] | None, Query(alias="billing_entity_codes[]")] = None,
) -> dict[str, Any]:
    entity_ids = await entity_ids_for_codes(session, org.id, billing_entity_codes)
    filters = parse_filters(
        CreditNoteFilters,
        {
            "billing_entity_ids": entity_ids,
            "external_customer_id": external_customer_id,
            "invoice_number": invoice_number,
            "reason": reason,
            "credit_status": credit_status,
            "refund_status": refund_status,
            "currency": currency,
            "issuing_date_from": issuing_date_from,
            "issuing_date_to": issuing_date_to,
            "amount_from": amount_from,
            "amount_to": amount_to,
        },
    )
    query = credit_note_query(org.id, filters)
    return await _page(session, query, page)


@router.get("/customers/{external_customer_id}/credit_notes")
@reads_only
async def list_customer_credit_notes(
    external_customer_id: str,
    org: OrgDep,
    session: SessionDep,
    page: PageDep,
    reason: Reason | None = None,
    credit_status: CreditStatus | None = None,
    refund_status: RefundStatus | None = None,
    issuing_date_from: Day | None = None,
    issuing_date_to: Day | None = None,
    amount_from: Cents | None = None,
    amount_to: Cents | None = None,
) -> dict[str, Any]:
    customer = await find_customer(session, org.id, external_customer_id)
    filters = parse_filters(
        CreditNoteFilters,
        {
            "reason": reason,
            "credit_status": credit_status,
            "refund_status": refund_status,
            "issuing_date_from": issuing_date_from,
            "issuing_date_to": issuing_date_to,
            "amount_from": amount_from,
            "amount_to": amount_to,
        },
    )
    query = credit_note_query(org.id, filters).where(CreditNote.customer_id == customer.id)
    return await _page(session, query, page)
