"""Payments: one row per attempt at the provider, one per manual payment.

A provider attempt is unique on (invoice, attempt number), which is what makes running an
attempt twice (a retried activity, a restarted worker) find the same row instead of
charging again. Manual payments have no attempt number, so any number of them can exist.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bxb.models.base import Base, TenantMixin
from bxb.models.search_index import search_indexes


class Payment(TenantMixin, Base):
    __tablename__ = "payments"
    __table_args__ = (UniqueConstraint("invoice_id", "attempt"), *search_indexes("payments"))

    invoice_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    provider: Mapped[str] = mapped_column(String(16))  # stripe | manual
    # The collection attempt (1 = first charge, then dunning retries); null when manual.
    attempt: Mapped[int | None]
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))  # pending | succeeded | failed
    # The PaymentIntent id at Stripe.
    provider_payment_id: Mapped[str | None] = mapped_column(String(255), index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    failure_code: Mapped[str | None] = mapped_column(String(255))
    failure_message: Mapped[str | None] = mapped_column(Text)
    # What the payer wrote on a manual payment (bank transfer reference, cheque number...).
    reference: Mapped[str | None] = mapped_column(String(255))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The payment request this payment collected (its invoice's share), if any.
    payment_request_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("payment_requests.id", ondelete="SET NULL"), index=True
    )
