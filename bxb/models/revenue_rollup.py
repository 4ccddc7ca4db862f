"""Revenue rollups: aggregates of invoices, fees and credit notes kept by triggers.

Written only by the PostgreSQL triggers of migrations 0010a and 0010g, in the transaction of each
change to an invoice, a fee or a credit note; read by bxb.analytics. Amounts follow the
rows they sum (see docs/analytics.md, "Revenue"): a rollup equals its definition over the
rows as they are, so a void, a payment or a credit note moves it at once.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Numeric, String, text
from sqlalchemy.orm import Mapped, mapped_column

from bxb.models.base import Base
from bxb.models.invoice import Fee, Invoice


def _organization() -> Mapped[uuid.UUID]:
    return mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)


def _cents() -> Mapped[int]:
    return mapped_column(BigInteger, default=0, server_default="0")


def _precise() -> Mapped[Decimal]:
    return mapped_column(Numeric(40, 15), default=Decimal(0), server_default="0")


class RevenueInvoiceDaily(Base):
    """Finalized invoices by issuing day (count, totals by payment status, Lago's
    refunds of credit notes on them); credit notes by their own issuing day."""

    __tablename__ = "revenue_invoice_daily"

    organization_id: Mapped[uuid.UUID] = _organization()
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    invoices_count: Mapped[int] = _cents()
    total_amount_cents: Mapped[int] = _cents()
    pending_count: Mapped[int] = _cents()
    pending_amount_cents: Mapped[int] = _cents()
    succeeded_count: Mapped[int] = _cents()
    succeeded_amount_cents: Mapped[int] = _cents()
    failed_count: Mapped[int] = _cents()
    failed_amount_cents: Mapped[int] = _cents()
    refund_amount_cents: Mapped[int] = _cents()
    credit_notes_count: Mapped[int] = _cents()
    credit_notes_amount_cents: Mapped[int] = _cents()


class RevenueFeeDaily(Base):
    """Fees of finalized invoices by issuing day (and instant fees by creation day), per
    fee type, plan code and metric code; subscription fees also by the plan's interval,
    pay-in-advance and the length of the billed period (Lago's MRR spreads on them)."""

    __tablename__ = "revenue_fee_daily"

    organization_id: Mapped[uuid.UUID] = _organization()
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    category: Mapped[str] = mapped_column(String(16), primary_key=True)
    plan_code: Mapped[str] = mapped_column(String(255), primary_key=True, server_default="")
    metric_code: Mapped[str] = mapped_column(String(255), primary_key=True, server_default="")
    plan_interval: Mapped[str] = mapped_column(String(16), primary_key=True, server_default="")
    pay_in_advance: Mapped[bool] = mapped_column(primary_key=True, server_default="false")
    period_seconds: Mapped[int] = mapped_column(BigInteger, primary_key=True, server_default="0")
    fees_count: Mapped[int] = _cents()
    # amount_cents less the fee's (unrounded) coupons: before taxes.
    amount_cents: Mapped[Decimal] = _precise()
    taxes_amount_cents: Mapped[int] = _cents()
    units: Mapped[Decimal] = _precise()


class RevenueCustomerMonthly(Base):
    """Revenue of each customer by month: fees before taxes less credit notes."""

    __tablename__ = "revenue_customer_monthly"

    organization_id: Mapped[uuid.UUID] = _organization()
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    amount_cents: Mapped[Decimal] = _precise()


# The period of every `all_time` row of RevenueCustomerPeriod (not date.min: asyncpg
# sends that as -infinity).
ALL_TIME_PERIOD = date(1970, 1, 1)


class RevenueCustomerPeriod(Base):
    """Revenue of each customer by calendar quarter, year and all time (`granularity`
    `quarter`, `year`, `all_time`; `period` the first day, ALL_TIME_PERIOD for all time):
    the sums of its RevenueCustomerMonthly rows, kept by a trigger on that table
    (migration 0010g)."""

    __tablename__ = "revenue_customer_periods"

    organization_id: Mapped[uuid.UUID] = _organization()
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    granularity: Mapped[str] = mapped_column(String(8), primary_key=True)
    period: Mapped[date] = mapped_column(Date, primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    amount_cents: Mapped[Decimal] = _precise()


# Top customers of one month, quarter, year or all time: an index scan with LIMIT.
Index(
    "ix_revenue_customer_monthly_top",
    RevenueCustomerMonthly.organization_id,
    RevenueCustomerMonthly.currency,
    RevenueCustomerMonthly.month,
    RevenueCustomerMonthly.amount_cents.desc(),
    RevenueCustomerMonthly.customer_id,
    postgresql_where=text("amount_cents <> 0"),
)
Index(
    "ix_revenue_customer_periods_top",
    RevenueCustomerPeriod.organization_id,
    RevenueCustomerPeriod.currency,
    RevenueCustomerPeriod.granularity,
    RevenueCustomerPeriod.period,
    RevenueCustomerPeriod.amount_cents.desc(),
    RevenueCustomerPeriod.customer_id,
    postgresql_where=text("amount_cents <> 0"),
)


class RevenueOutstandingDaily(Base):
    """What finalized, not yet paid invoices still owe, by payment due date."""

    __tablename__ = "revenue_outstanding_daily"

    organization_id: Mapped[uuid.UUID] = _organization()
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    due_date: Mapped[date] = mapped_column(Date, primary_key=True)
    invoices_count: Mapped[int] = _cents()
    amount_cents: Mapped[int] = _cents()


# Indexes of the analytics read paths on the ledger's own tables (migration 0010a).
# Lago's overdue balance lists every overdue invoice's id: read from this index alone.
Index(
    "ix_invoices_org_payment_overdue",
    Invoice.organization_id,
    Invoice.currency,
    Invoice.payment_due_date,
    postgresql_include=["id", "total_amount_cents", "total_paid_amount_cents"],
    postgresql_where=text("payment_overdue AND status = 'finalized'"),
)
Index(
    "ix_fees_org_charge_from",
    Fee.organization_id,
    Fee.from_datetime,
    postgresql_where=text("fee_type = 'charge'"),
)
Index(
    "ix_fees_org_instant",
    Fee.organization_id,
    Fee.created_at,
    postgresql_where=text("invoice_id IS NULL AND pay_in_advance"),
)
