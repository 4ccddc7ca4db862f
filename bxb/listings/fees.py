"""Fee list filters (GET /fees, fee exports)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import Select, func, or_, select

from bxb.inputs.bounds import Instant
from bxb.listings.base import FilterText, ListFilters
from bxb.models import Customer, Fee, Invoice, Subscription

FeeType = Literal["charge", "add_on", "subscription", "credit", "commitment"]
FeePaymentStatus = Literal["pending", "succeeded", "failed", "refunded"]


def utc(moment: datetime | None) -> datetime | None:
    """Filter instants without an offset are read as UTC."""
    if moment is None or moment.utcoffset() is not None:
        return moment
    return moment.replace(tzinfo=UTC)


class FeeFilters(ListFilters):
    fee_type: FeeType | None = None
    payment_status: FeePaymentStatus | None = None
    external_subscription_id: FilterText | None = None
    external_customer_id: FilterText | None = None
    billable_metric_code: FilterText | None = None
    currency: FilterText | None = None
    event_transaction_id: FilterText | None = None
    created_at_from: Instant | None = None
    created_at_to: Instant | None = None


def fee_query(organization_id: uuid.UUID, f: FeeFilters) -> Select[Fee]:
    """Every fee of the organization matching f (invoiced or not), unordered; the invoice
    and subscription are outer-joined."""
    query: Select[Fee] = (
        select(Fee)
        .outerjoin(Invoice, Invoice.id == Fee.invoice_id)
        .outerjoin(Subscription, Subscription.id == Fee.subscription_id)
        .where(
            Fee.organization_id == organization_id,
            # The fees of a deleted draft went with it.
            or_(Invoice.id.is_(None), Invoice.status != "deleted"),
        )
    )
    if f.fee_type is not None:
        query = query.where(Fee.fee_type == f.fee_type)
    if f.payment_status is not None:
        query = query.where(
            func.coalesce(Fee.payment_status, Invoice.payment_status) == f.payment_status
        )
    if f.external_subscription_id is not None:
        query = query.where(Subscription.external_id == f.external_subscription_id)
    if f.external_customer_id is not None:
        customers = select(Customer.id).where(
            Customer.organization_id == organization_id,
            Customer.external_id == f.external_customer_id,
        )
        query = query.where(
            or_(Invoice.customer_id.in_(customers), Subscription.customer_id.in_(customers))
        )
    if f.billable_metric_code is not None:
        query = query.where(Fee.fee_type == "charge", Fee.item_code == f.billable_metric_code)
    if f.currency is not None:
        query = query.where(Fee.amount_currency == f.currency.upper())
    if f.event_transaction_id is not None:
        query = query.where(Fee.pay_in_advance_event_transaction_id == f.event_transaction_id)
    if f.created_at_from is not None:
        query = query.where(Fee.created_at >= utc(f.created_at_from))
    if f.created_at_to is not None:
        query = query.where(Fee.created_at <= utc(f.created_at_to))
    return query
