"""Credit notes on finalized invoices, their items, and where their credit was spent.

A note is numbered per invoice ("<invoice number>-CN<n>"). Its credit part becomes a
balance that later invoices of the customer consume (CreditNoteApplication rows, Lago's
invoice "credits"); its refund part is money owed back to the customer.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Index, Numeric, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bxb.models.base import Base, TenantMixin
from bxb.models.search_index import search_indexes


class CreditNote(TenantMixin, Base):
    __tablename__ = "credit_notes"
    __table_args__ = (
        *search_indexes("credit_notes"),
        Index(
            "uq_credit_notes_invoice_id_sequential_id", "invoice_id", "sequential_id", unique=True
        ),
        # Available balances of a customer, oldest first, when an invoice is finalized.
        Index("ix_credit_notes_customer_id_credit_status", "customer_id", "credit_status"),
    )

    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"))
    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id"), index=True)
    sequential_id: Mapped[int]
    number: Mapped[str] = mapped_column(String(80))
    issuing_date: Mapped[date] = mapped_column(Date)
    # duplicated_charge | product_unsatisfactory | order_change | order_cancellation |
    # fraudulent_charge | other
    reason: Mapped[str] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(String(3))
    # available | consumed | voided; null when the note credits nothing (refund only).
    credit_status: Mapped[str | None] = mapped_column(String(16))
    # pending | succeeded | failed; null when the note refunds nothing.
    refund_status: Mapped[str | None] = mapped_column(String(16))
    total_amount_cents: Mapped[int] = mapped_column(BigInteger)
    taxes_amount_cents: Mapped[int] = mapped_column(BigInteger)
    taxes_rate: Mapped[Decimal] = mapped_column(Numeric(10, 5))
    precise_taxes_amount_cents: Mapped[Decimal] = mapped_column(Numeric(40, 15))
    sub_total_excluding_taxes_amount_cents: Mapped[int] = mapped_column(BigInteger)
    coupons_adjustment_amount_cents: Mapped[int] = mapped_column(BigInteger)
    precise_coupons_adjustment_amount_cents: Mapped[Decimal] = mapped_column(Numeric(40, 15))
    credit_amount_cents: Mapped[int] = mapped_column(BigInteger)
    refund_amount_cents: Mapped[int] = mapped_column(BigInteger)
    # What remains of the credit part for later invoices.
    balance_amount_cents: Mapped[int] = mapped_column(BigInteger)
    # [{"tax_code", "tax_name", "tax_rate", "amount_cents", "base_amount_cents"}]
    applied_taxes: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSONB)
    # Business key of a note bxb issues itself (unused prepaid days, a voided invoice's
    # payments), so a retried activity finds the note instead of crediting twice.
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    voided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    refunded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    items: Mapped[list[CreditNoteItem]] = relationship(
        back_populates="credit_note",
        cascade="all, delete-orphan",
        order_by="CreditNoteItem.position",
        lazy="selectin",
    )


class CreditNoteItem(TenantMixin, Base):
    __tablename__ = "credit_note_items"

    credit_note_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("credit_notes.id", ondelete="CASCADE"), index=True
    )
    fee_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("fees.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    # Lago's item amount: part of the fee before coupons, excluding taxes.
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    amount_currency: Mapped[str] = mapped_column(String(3))
    # The item's share of the fee's coupons and taxes (see bxb.billing.credit_notes).
    coupons_adjustment_amount_cents: Mapped[int] = mapped_column(BigInteger)
    taxes_amount_cents: Mapped[int] = mapped_column(BigInteger)

    credit_note: Mapped[CreditNote] = relationship(back_populates="items")


class CreditNoteApplication(TenantMixin, Base):
    """Credit of a note consumed by a later invoice (one of Lago's invoice "credits")."""

    __tablename__ = "credit_note_applications"
    __table_args__ = (
        Index(
            "uq_credit_note_applications_invoice_id_credit_note_id",
            "invoice_id",
            "credit_note_id",
            unique=True,
        ),
    )

    credit_note_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("credit_notes.id", ondelete="CASCADE"), index=True
    )
    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    amount_currency: Mapped[str] = mapped_column(String(3))
