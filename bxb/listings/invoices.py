"""Invoice list filters (GET /invoices, invoice exports)."""

from __future__ import annotations

import contextlib
import uuid
from typing import Annotated, Literal

from pydantic import Field
from sqlalchemy import Select, or_, select

from bxb.inputs.bounds import MAX_BIGINT, Day
from bxb.inputs.validation import Currency
from bxb.listings.base import MAX_FILTER_VALUES, MAX_METADATA_FILTERS, FilterText, ListFilters
from bxb.models import Customer, Invoice

InvoiceStatus = Literal["draft", "finalized", "voided", "failed", "pending"]
PaymentStatus = Literal["pending", "succeeded", "failed"]
InvoiceType = Literal[
    "subscription", "add_on", "credit", "one_off", "advance_charges", "progressive_billing"
]
AmountFilter = Annotated[int, Field(ge=0, le=MAX_BIGINT)]  # amounts are BIGINT


class InvoiceFilters(ListFilters):
    external_customer_id: FilterText | None = None
    statuses: Annotated[tuple[InvoiceStatus, ...], Field(max_length=MAX_FILTER_VALUES)] = ()
    payment_statuses: Annotated[tuple[PaymentStatus, ...], Field(max_length=MAX_FILTER_VALUES)] = ()
    payment_overdue: bool | None = None
    invoice_type: InvoiceType | None = None
    issuing_date_from: Day | None = None
    issuing_date_to: Day | None = None
    currency: Currency | None = None
    search_term: FilterText | None = None
    amount_from: AmountFilter | None = None
    amount_to: AmountFilter | None = None
    # Lago's billing_entity_codes[], resolved to ids by the caller.
    billing_entity_ids: tuple[uuid.UUID, ...] = ()
    # Lago's metadata[key]=value; an empty value asks for invoices without that key.
    metadata: Annotated[dict[FilterText, FilterText], Field(max_length=MAX_METADATA_FILTERS)] = (
        Field(default_factory=dict)
    )


def _search(query: Select[Invoice], term: str) -> Select[Invoice]:
    columns = (Invoice.number, Customer.name, Customer.external_id, Customer.email)
    matches = [column.icontains(term, autoescape=True) for column in columns]
    with contextlib.suppress(ValueError):
        matches.append(Invoice.id == uuid.UUID(term))
    return query.where(or_(*matches))


# A draft deleted through the API: kept (its billing key), never shown (Lago's `visible`).
DELETED = "deleted"


def invoice_query(organization_id: uuid.UUID, f: InvoiceFilters) -> Select[Invoice]:
    """The organization's invoices (joined to their customer) that match f, unordered."""
    query = (
        select(Invoice)
        .join(Customer, Customer.id == Invoice.customer_id)
        .where(Invoice.organization_id == organization_id, Invoice.status != DELETED)
    )
    if f.external_customer_id is not None:
        query = query.where(Customer.external_id == f.external_customer_id)
    if f.billing_entity_ids:
        query = query.where(Invoice.billing_entity_id.in_(f.billing_entity_ids))
    if f.statuses:
        query = query.where(Invoice.status.in_(f.statuses))
    if f.payment_statuses:
        query = query.where(Invoice.payment_status.in_(f.payment_statuses))
    if f.payment_overdue is not None:
        query = query.where(Invoice.payment_overdue.is_(f.payment_overdue))
    if f.invoice_type is not None:
        query = query.where(Invoice.invoice_type == f.invoice_type)
    if f.issuing_date_from is not None:
        query = query.where(Invoice.issuing_date >= f.issuing_date_from)
    if f.issuing_date_to is not None:
        query = query.where(Invoice.issuing_date <= f.issuing_date_to)
    if f.currency is not None:
        query = query.where(Invoice.currency == f.currency)
    if f.amount_from is not None:
        query = query.where(Invoice.total_amount_cents >= f.amount_from)
    if f.amount_to is not None:
        query = query.where(Invoice.total_amount_cents <= f.amount_to)
    if f.search_term:
        query = _search(query, f.search_term)
    for key, value in f.metadata.items():
        if value:
            query = query.where(Invoice.metadata_.contains([{"key": key, "value": value}]))
        else:
            query = query.where(~Invoice.metadata_.contains([{"key": key}]))
    return query
