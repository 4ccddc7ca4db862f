"""Lago's analytics items, and bxb's dashboard revenue figures, as JSON objects.

The rows come from bxb.analytics (above this package): described here by what is read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Protocol


def month_stamp(month: date) -> str:
    """Lago's `month`: the first instant of the month, e.g. 2023-11-01T00:00:00.000Z."""
    return f"{month.isoformat()}T00:00:00.000Z"


class GrossRevenue(Protocol):
    @property
    def month(self) -> date: ...
    @property
    def currency(self) -> str: ...
    @property
    def amount_cents(self) -> int: ...
    @property
    def invoices_count(self) -> int: ...


class InvoiceCollection(Protocol):
    @property
    def month(self) -> date: ...
    @property
    def currency(self) -> str | None: ...
    @property
    def payment_status(self) -> str | None: ...
    @property
    def invoices_count(self) -> int: ...
    @property
    def amount_cents(self) -> int: ...


class InvoicedUsage(Protocol):
    @property
    def month(self) -> date: ...
    @property
    def code(self) -> str: ...
    @property
    def currency(self) -> str: ...
    @property
    def amount_cents(self) -> int: ...


class Mrr(Protocol):
    @property
    def month(self) -> date: ...
    @property
    def currency(self) -> str | None: ...
    @property
    def amount_cents(self) -> int | None: ...


class OverdueBalance(Protocol):
    @property
    def month(self) -> date: ...
    @property
    def currency(self) -> str: ...
    @property
    def amount_cents(self) -> int: ...
    @property
    def lago_invoice_ids(self) -> list[str]: ...


class Usage(Protocol):
    @property
    def start_of_period_dt(self) -> date: ...
    @property
    def end_of_period_dt(self) -> date: ...
    @property
    def amount_currency(self) -> str: ...
    @property
    def amount_cents(self) -> int: ...
    @property
    def billable_metric_code(self) -> str: ...
    @property
    def units(self) -> Decimal: ...
    @property
    def is_billable_metric_deleted(self) -> bool: ...


class RevenuePoint(Protocol):
    @property
    def start(self) -> date: ...
    @property
    def recurring_amount_cents(self) -> int: ...
    @property
    def usage_amount_cents(self) -> int: ...
    @property
    def one_off_amount_cents(self) -> int: ...
    @property
    def gross_amount_cents(self) -> int: ...
    @property
    def credit_notes_amount_cents(self) -> int: ...
    @property
    def net_amount_cents(self) -> int: ...
    @property
    def invoices_count(self) -> int: ...


class PlanRevenue(Protocol):
    @property
    def plan_code(self) -> str: ...
    @property
    def plan_name(self) -> str | None: ...
    @property
    def recurring_amount_cents(self) -> int: ...
    @property
    def usage_amount_cents(self) -> int: ...
    @property
    def amount_cents(self) -> int: ...


class CustomerRevenue(Protocol):
    @property
    def lago_customer_id(self) -> object: ...
    @property
    def external_customer_id(self) -> str: ...
    @property
    def name(self) -> str | None: ...
    @property
    def amount_cents(self) -> int: ...


class AgingBucket(Protocol):
    @property
    def bucket(self) -> str: ...
    @property
    def amount_cents(self) -> int: ...
    @property
    def invoices_count(self) -> int: ...


class Overdue(Protocol):
    @property
    def currency(self) -> str: ...
    @property
    def as_of(self) -> date: ...
    @property
    def amount_cents(self) -> int: ...
    @property
    def invoices_count(self) -> int: ...
    @property
    def aging(self) -> Sequence[AgingBucket]: ...


def gross_revenue_object(row: GrossRevenue) -> dict[str, Any]:
    return {
        "month": month_stamp(row.month),
        "amount_cents": row.amount_cents,
        "currency": row.currency,
        "invoices_count": row.invoices_count,
    }


def invoice_collection_object(row: InvoiceCollection) -> dict[str, Any]:
    return {
        "month": month_stamp(row.month),
        "payment_status": row.payment_status,
        "invoices_count": row.invoices_count,
        "amount_cents": row.amount_cents,
        "currency": row.currency,
    }


def invoiced_usage_object(row: InvoicedUsage) -> dict[str, Any]:
    return {
        "month": month_stamp(row.month),
        "code": row.code,
        "currency": row.currency,
        "amount_cents": row.amount_cents,
    }


def mrr_object(row: Mrr) -> dict[str, Any]:
    return {
        "month": month_stamp(row.month),
        "amount_cents": row.amount_cents,
        "currency": row.currency,
    }


def overdue_balance_object(row: OverdueBalance) -> dict[str, Any]:
    return {
        "month": month_stamp(row.month),
        "amount_cents": row.amount_cents,
        "currency": row.currency,
        "lago_invoice_ids": row.lago_invoice_ids,
    }


def usage_object(organization_id: str, row: Usage) -> dict[str, Any]:
    return {
        "organization_id": organization_id,
        "start_of_period_dt": row.start_of_period_dt.isoformat(),
        "end_of_period_dt": row.end_of_period_dt.isoformat(),
        "amount_currency": row.amount_currency,
        "amount_cents": row.amount_cents,
        "billable_metric_code": row.billable_metric_code,
        "units": format(row.units, "f") if row.units % 1 else f"{row.units:.1f}",
        "is_billable_metric_deleted": row.is_billable_metric_deleted,
    }


def revenue_point_object(point: RevenuePoint, *, monthly: bool) -> dict[str, Any]:
    start: dict[str, Any] = (
        {"month": month_stamp(point.start)} if monthly else {"date": point.start.isoformat()}
    )
    return {
        **start,
        "recurring_amount_cents": point.recurring_amount_cents,
        "usage_amount_cents": point.usage_amount_cents,
        "one_off_amount_cents": point.one_off_amount_cents,
        "gross_amount_cents": point.gross_amount_cents,
        "credit_notes_amount_cents": point.credit_notes_amount_cents,
        "net_amount_cents": point.net_amount_cents,
        "invoices_count": point.invoices_count,
    }


def plan_revenue_object(row: PlanRevenue) -> dict[str, Any]:
    return {
        "plan_code": row.plan_code,
        "plan_name": row.plan_name,
        "recurring_amount_cents": row.recurring_amount_cents,
        "usage_amount_cents": row.usage_amount_cents,
        "amount_cents": row.amount_cents,
    }


def customer_revenue_object(row: CustomerRevenue) -> dict[str, Any]:
    return {
        "lago_customer_id": str(row.lago_customer_id),
        "external_customer_id": row.external_customer_id,
        "name": row.name,
        "amount_cents": row.amount_cents,
    }


def overdue_object(row: Overdue) -> dict[str, Any]:
    return {
        "currency": row.currency,
        "as_of": row.as_of.isoformat(),
        "amount_cents": row.amount_cents,
        "invoices_count": row.invoices_count,
        "aging": [
            {"bucket": b.bucket, "amount_cents": b.amount_cents, "invoices_count": b.invoices_count}
            for b in row.aging
        ],
    }
