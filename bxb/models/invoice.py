"""Invoices and their fees. Immutable once finalized; corrections are credit notes.

An invoice for a subscription period is unique on (subscription, period, kind), so the
activity that writes it can run any number of times and bill once.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bxb.models.base import Base, TenantMixin
from bxb.models.search_index import search_indexes


class Invoice(TenantMixin, Base):
    __tablename__ = "invoices"
    __table_args__ = (
        *search_indexes("invoices"),
        Index(
            "uq_invoices_subscription_period_kind",
            "subscription_id",
            "period_start",
            "period_end",
            "kind",
            unique=True,
        ),
    )

    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    subscription_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("subscriptions.id"), index=True
    )
    # subscription | add_on | one_off | credit | progressive_billing
    invoice_type: Mapped[str] = mapped_column(String(32), default="subscription")
    # Why the invoice exists: period_end | plan_change | termination | start (in advance),
    # or progressive:<lifetime amount crossed> (a usage threshold, progressive billing).
    kind: Mapped[str] = mapped_column(String(32))
    period_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    period_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # draft | finalized | voided | deleted (a draft deleted through the API: Lago's
    # invisible status; the row stays so its billing key is never billed again)
    status: Mapped[str] = mapped_column(String(16))
    payment_status: Mapped[str] = mapped_column(String(16), default="pending")
    currency: Mapped[str] = mapped_column(String(3))
    issuing_date: Mapped[date] = mapped_column(Date)
    # The billing entity that issues it (its customer's when created); see numbering.
    billing_entity_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("billing_entities.id"), index=True
    )
    # Gapless among finalized invoices of its billing entity; null while draft.
    sequential_id: Mapped[int | None]
    number: Mapped[str | None] = mapped_column(String(64))
    fees_amount_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    coupons_amount_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    taxes_amount_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    credit_notes_amount_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    prepaid_credit_amount_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    # Usage of the period already billed by its progressive billing invoices, deducted
    # before coupons and taxes (each charge fee carries its part in coupons_amount_cents).
    progressive_billing_credit_amount_cents: Mapped[int] = mapped_column(
        BigInteger, default=0, server_default="0"
    )
    total_amount_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    # Money received against total_amount_cents (payments, provider or manual).
    total_paid_amount_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    net_payment_term: Mapped[int] = mapped_column(default=0)
    payment_due_date: Mapped[date | None] = mapped_column(Date)
    # Set when collection has failed for good (dunning exhausted); cleared by a payment.
    payment_overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    # A draft's recipe: what the workflow asked to bill, so a refresh can recompute it.
    draft_source: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # The usage windows its charge fees were computed from (UsageWindow: segment, plan
    # snapshot, from, to), kept after finalizing so late events can re-rate them.
    usage_windows: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    # [{"key", "value"}] as Lago's invoice metadata.
    metadata_: Mapped[list[dict[str, Any]]] = mapped_column("metadata", JSONB, default=list)
    finalized_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    voided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set once when the customer's payment dispute is lost (POST .../lose_dispute).
    payment_dispute_lost_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # [{"tax_code", "tax_name", "tax_rate", "amount_cents"}]
    applied_taxes: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)

    fees: Mapped[list[Fee]] = relationship(
        back_populates="invoice",
        cascade="all, delete-orphan",
        order_by="Fee.position",
        lazy="selectin",
    )


class Fee(TenantMixin, Base):
    __tablename__ = "fees"
    __table_args__ = (
        # One instant fee per (charge, event): the reaction is idempotent on it.
        Index(
            "uq_fees_pay_in_advance_event",
            "organization_id",
            "charge_id",
            "pay_in_advance_event_transaction_id",
            unique=True,
            postgresql_where=text("pay_in_advance_event_transaction_id IS NOT NULL"),
        ),
        Index(
            "ix_fees_subscription_pay_in_advance",
            "subscription_id",
            "charge_id",
            postgresql_where=text("pay_in_advance"),
        ),
    )

    # Null for a pay-in-advance charge's fee that is not invoiceable (until regrouped).
    invoice_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    subscription_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("subscriptions.id"))
    charge_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("charges.id"))
    charge_filter_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("charge_filters.id"))
    add_on_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("add_ons.id"))
    fixed_charge_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("fixed_charges.id"))
    # Order on the invoice: the subscription fee first, then charges.
    position: Mapped[int] = mapped_column(default=0)
    # subscription | charge | add_on | credit | commitment | fixed_charge
    fee_type: Mapped[str] = mapped_column(String(16))
    # What the line says, e.g. the plan's or charge's invoice display name; composed from
    # names (plan, metric, filter values), so of no fixed length.
    description: Mapped[str] = mapped_column(Text)
    item_code: Mapped[str] = mapped_column(String(255))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    precise_amount_cents: Mapped[Decimal] = mapped_column(Numeric(40, 15))
    amount_currency: Mapped[str] = mapped_column(String(3))
    coupons_amount_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    taxes_amount_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    taxes_rate: Mapped[Decimal] = mapped_column(Numeric(10, 5), default=Decimal(0))
    # Unrounded (Lago's taxes_precise_amount_cents, precise_coupons_amount_cents): taxes
    # are rounded once per tax of the invoice, taxes_amount_cents is this fee's share.
    taxes_precise_amount_cents: Mapped[Decimal] = mapped_column(
        Numeric(40, 15), default=Decimal(0), server_default="0"
    )
    precise_coupons_amount_cents: Mapped[Decimal] = mapped_column(
        Numeric(40, 15), default=Decimal(0), server_default="0"
    )
    # A charge minimum's true-up fee: the charge fee it tops up. SET NULL: a draft's fees
    # are all deleted when it is refreshed, in whatever order the flush picks.
    true_up_parent_fee_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("fees.id", ondelete="SET NULL")
    )
    units: Mapped[Decimal] = mapped_column(Numeric(40, 15), default=Decimal(0))
    events_count: Mapped[int | None]
    from_datetime: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    to_datetime: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    amount_details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # Pay-in-advance charges (issue 10): the fee of one event, billed when it arrived.
    pay_in_advance: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    invoiceable: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    pay_in_advance_event_transaction_id: Mapped[str | None] = mapped_column(String(255))
    # A fee's own payment status (non-invoiceable fees); else its invoice's.
    payment_status: Mapped[str | None] = mapped_column(String(16))
    succeeded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    refunded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    invoice: Mapped[Invoice | None] = relationship(back_populates="fees")


class InvoiceSequence(Base):
    """The last invoice number given in an organization.

    Incremented in the transaction that finalizes an invoice: the row lock serializes
    finalizations of one organization, and a rolled-back invoice gives its number back,
    so finalized invoices are numbered without gaps.
    """

    __tablename__ = "invoice_sequences"

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    last_sequential_id: Mapped[int] = mapped_column(default=0)
