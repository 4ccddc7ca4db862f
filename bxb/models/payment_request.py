"""Payment requests (Lago's PaymentRequest): one charge for several overdue invoices of a
customer, and the receipts of succeeded payments.

A request is collected as one provider payment for the sum of what its invoices still
owe; on success each invoice gets its own Payment row (its share, all naming the same
PaymentIntent), so invoices are settled by the code that settles every payment.
"""

from __future__ import annotations

import uuid

from sqlalchemy import BigInteger, Column, ForeignKey, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bxb.models.base import Base, TenantMixin

payment_request_invoices = Table(
    "payment_request_invoices",
    Base.metadata,
    Column(
        "payment_request_id",
        ForeignKey("payment_requests.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("invoice_id", ForeignKey("invoices.id", ondelete="CASCADE"), primary_key=True),
)


class PaymentRequest(TenantMixin, Base):
    __tablename__ = "payment_requests"

    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    email: Mapped[str] = mapped_column(String(255))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    payment_status: Mapped[str] = mapped_column(String(16))  # pending | succeeded | failed
    # The PaymentIntent at Stripe, once charged.
    provider_payment_id: Mapped[str | None] = mapped_column(String(255))
    failure_code: Mapped[str | None] = mapped_column(String(255))
    failure_message: Mapped[str | None] = mapped_column(Text)


class PaymentReceipt(TenantMixin, Base):
    """Issued in the transaction where a payment succeeds; numbered per organization."""

    __tablename__ = "payment_receipts"
    __table_args__ = (UniqueConstraint("organization_id", "sequential_id"),)

    payment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("payments.id", ondelete="CASCADE"), unique=True
    )
    sequential_id: Mapped[int]
    number: Mapped[str] = mapped_column(String(64))
