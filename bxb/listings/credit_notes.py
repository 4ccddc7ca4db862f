"""Credit note list filters (GET /credit_notes, GET /customers/{id}/credit_notes, exports)."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, select

from bxb.inputs.bounds import Cents, Day
from bxb.inputs.credit_notes import CreditStatus, Reason, RefundStatus
from bxb.listings.base import FilterText, ListFilters
from bxb.models import CreditNote, Customer, Invoice


class CreditNoteFilters(ListFilters):
    external_customer_id: FilterText | None = None
    invoice_number: FilterText | None = None
    reason: Reason | None = None
    credit_status: CreditStatus | None = None
    refund_status: RefundStatus | None = None
    currency: FilterText | None = None
    issuing_date_from: Day | None = None
    issuing_date_to: Day | None = None
    amount_from: Cents | None = None
    amount_to: Cents | None = None
    # Lago's billing_entity_codes[] (the credited invoice's entity), resolved by the caller.
    billing_entity_ids: tuple[uuid.UUID, ...] = ()


def credit_note_query(organization_id: uuid.UUID, f: CreditNoteFilters) -> Select[CreditNote]:
    """The organization's credit notes matching f, unordered."""
    query = select(CreditNote).where(CreditNote.organization_id == organization_id)
    if f.external_customer_id is not None:
        query = query.where(
            CreditNote.customer_id.in_(
                select(Customer.id).where(
                    Customer.organization_id == organization_id,
                    Customer.external_id == f.external_customer_id,
                )
            )
        )
    if f.invoice_number is not None:
        query = query.where(
            CreditNote.invoice_id.in_(
                select(Invoice.id).where(
                    Invoice.organization_id == organization_id, Invoice.number == f.invoice_number
                )
            )
        )
    if f.billing_entity_ids:
        query = query.where(
            CreditNote.invoice_id.in_(
                select(Invoice.id).where(
                    Invoice.organization_id == organization_id,
                    Invoice.billing_entity_id.in_(f.billing_entity_ids),
                )
            )
        )
    if f.reason is not None:
        query = query.where(CreditNote.reason == f.reason)
    if f.credit_status is not None:
        query = query.where(CreditNote.credit_status == f.credit_status)
    if f.refund_status is not None:
        query = query.where(CreditNote.refund_status == f.refund_status)
    if f.currency is not None:
        query = query.where(CreditNote.currency == f.currency.upper())
    if f.issuing_date_from is not None:
        query = query.where(CreditNote.issuing_date >= f.issuing_date_from)
    if f.issuing_date_to is not None:
        query = query.where(CreditNote.issuing_date <= f.issuing_date_to)
    if f.amount_from is not None:
        query = query.where(CreditNote.total_amount_cents >= f.amount_from)
    if f.amount_to is not None:
        query = query.where(CreditNote.total_amount_cents <= f.amount_to)
    return query
