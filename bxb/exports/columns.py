"""The columns of each resource's CSV: the list filters of bxb.listings, narrowed to the
columns written (no ORM objects: rows stream as plain tuples), in a stable order.

Money columns are integer minor units, each row with its currency.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func
from sqlalchemy.orm import InstrumentedAttribute

from bxb.listings.base import ListFilters
from bxb.listings.credit_notes import CreditNoteFilters, credit_note_query
from bxb.listings.customers import CustomerFilters, customer_query
from bxb.listings.events import EventListFilters, event_query
from bxb.listings.fees import FeeFilters, fee_query
from bxb.listings.invoices import InvoiceFilters, invoice_query
from bxb.models import CreditNote, Customer, Event, Fee, Invoice, Subscription

Column = ColumnElement[Any] | InstrumentedAttribute[Any]


@dataclass(frozen=True)
class ExportSpec:
    filters: type[ListFilters]
    # (organization, checked filters) → the query of every row, with its columns and order.
    query: Callable[[uuid.UUID, Any], Select[Any]]
    columns: Sequence[tuple[str, Column]]

    @property
    def header(self) -> list[str]:
        return [name for name, _ in self.columns]

    def select(self, organization_id: uuid.UUID, filters: ListFilters) -> Select[Any]:
        return self.query(organization_id, filters).with_only_columns(
            *(column.label(name) for name, column in self.columns)
        )


def _ordered(query: Select[Any], *order: Column) -> Select[Any]:
    return query.order_by(*order)


INVOICES = ExportSpec(
    InvoiceFilters,
    lambda org, f: _ordered(invoice_query(org, f), Invoice.created_at, Invoice.id),
    [
        ("lago_id", Invoice.id),
        ("number", Invoice.number),
        ("external_customer_id", Customer.external_id),
        ("invoice_type", Invoice.invoice_type),
        ("status", Invoice.status),
        ("payment_status", Invoice.payment_status),
        ("payment_overdue", Invoice.payment_overdue),
        ("issuing_date", Invoice.issuing_date),
        ("payment_due_date", Invoice.payment_due_date),
        ("currency", Invoice.currency),
        ("fees_amount_cents", Invoice.fees_amount_cents),
        ("coupons_amount_cents", Invoice.coupons_amount_cents),
        ("taxes_amount_cents", Invoice.taxes_amount_cents),
        ("credit_notes_amount_cents", Invoice.credit_notes_amount_cents),
        ("prepaid_credit_amount_cents", Invoice.prepaid_credit_amount_cents),
        ("total_amount_cents", Invoice.total_amount_cents),
        ("total_paid_amount_cents", Invoice.total_paid_amount_cents),
        ("created_at", Invoice.created_at),
        ("finalized_at", Invoice.finalized_at),
    ],
)

FEES = ExportSpec(
    FeeFilters,
    lambda org, f: _ordered(fee_query(org, f), Fee.created_at, Fee.id),
    [
        ("lago_id", Fee.id),
        ("lago_invoice_id", Fee.invoice_id),
        ("invoice_number", Invoice.number),
        ("external_subscription_id", Subscription.external_id),
        ("fee_type", Fee.fee_type),
        ("item_code", Fee.item_code),
        ("description", Fee.description),
        ("units", Fee.units),
        ("events_count", Fee.events_count),
        ("currency", Fee.amount_currency),
        ("amount_cents", Fee.amount_cents),
        ("taxes_amount_cents", Fee.taxes_amount_cents),
        ("total_amount_cents", Fee.amount_cents + Fee.taxes_amount_cents),
        ("payment_status", func.coalesce(Fee.payment_status, Invoice.payment_status)),
        ("from_datetime", Fee.from_datetime),
        ("to_datetime", Fee.to_datetime),
        ("created_at", Fee.created_at),
    ],
)


def _credit_notes(org: uuid.UUID, f: CreditNoteFilters) -> Select[Any]:
    return _ordered(
        credit_note_query(org, f)
        .join(Invoice, Invoice.id == CreditNote.invoice_id)
        .join(Customer, Customer.id == CreditNote.customer_id),
        CreditNote.created_at,
        CreditNote.id,
    )


CREDIT_NOTES = ExportSpec(
    CreditNoteFilters,
    _credit_notes,
    [
        ("lago_id", CreditNote.id),
        ("number", CreditNote.number),
        ("lago_invoice_id", CreditNote.invoice_id),
        ("invoice_number", Invoice.number),
        ("external_customer_id", Customer.external_id),
        ("issuing_date", CreditNote.issuing_date),
        ("reason", CreditNote.reason),
        ("credit_status", CreditNote.credit_status),
        ("refund_status", CreditNote.refund_status),
        ("currency", CreditNote.currency),
        (
            "sub_total_excluding_taxes_amount_cents",
            CreditNote.sub_total_excluding_taxes_amount_cents,
        ),
        ("taxes_amount_cents", CreditNote.taxes_amount_cents),
        ("coupons_adjustment_amount_cents", CreditNote.coupons_adjustment_amount_cents),
        ("credit_amount_cents", CreditNote.credit_amount_cents),
        ("refund_amount_cents", CreditNote.refund_amount_cents),
        ("balance_amount_cents", CreditNote.balance_amount_cents),
        ("total_amount_cents", CreditNote.total_amount_cents),
        ("created_at", CreditNote.created_at),
    ],
)

CUSTOMERS = ExportSpec(
    CustomerFilters,
    lambda org, f: _ordered(customer_query(org, f), Customer.created_at, Customer.id),
    [
        ("lago_id", Customer.id),
        ("external_id", Customer.external_id),
        ("sequential_id", Customer.sequential_id),
        ("name", Customer.name),
        ("firstname", Customer.firstname),
        ("lastname", Customer.lastname),
        ("customer_type", Customer.customer_type),
        ("email", Customer.email),
        ("legal_name", Customer.legal_name),
        ("legal_number", Customer.legal_number),
        ("tax_identification_number", Customer.tax_identification_number),
        ("address_line1", Customer.address_line1),
        ("address_line2", Customer.address_line2),
        ("city", Customer.city),
        ("state", Customer.state),
        ("zipcode", Customer.zipcode),
        ("country", Customer.country),
        ("currency", Customer.currency),
        ("timezone", Customer.timezone),
        ("created_at", Customer.created_at),
    ],
)

EVENTS = ExportSpec(
    EventListFilters,
    lambda org, f: _ordered(event_query(org, f), Event.timestamp, Event.transaction_id),
    [
        ("lago_id", Event.id),
        ("transaction_id", Event.transaction_id),
        ("external_subscription_id", Event.external_subscription_id),
        ("code", Event.code),
        ("timestamp", Event.timestamp),
        ("properties", Event.properties),
        ("precise_total_amount_cents", Event.precise_total_amount_cents),
        ("created_at", Event.created_at),
    ],
)

SPECS: dict[str, ExportSpec] = {
    "invoices": INVOICES,
    "fees": FEES,
    "credit_notes": CREDIT_NOTES,
    "customers": CUSTOMERS,
    "events": EVENTS,
}
RESOURCE_TYPES = tuple(SPECS)
