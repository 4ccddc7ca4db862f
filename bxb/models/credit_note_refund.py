"""The refund of a credit note at the payment provider, one row per payment it refunds.

A note's refund part is taken back from the Stripe payments of its invoice, oldest first.
Each (note, payment) row is committed *before* the provider is called, so a run that
finds it still pending knows it may already have reached the provider and looks there
first: that is what makes a refund happen once, even after a crash.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bxb.models.base import Base, TenantMixin


class CreditNoteRefund(TenantMixin, Base):
    __tablename__ = "credit_note_refunds"
    __table_args__ = (UniqueConstraint("credit_note_id", "payment_id"),)

    credit_note_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("credit_notes.id", ondelete="CASCADE"), index=True
    )
    # The provider payment the money goes back through.
    payment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("payments.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(String(16))  # stripe
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))  # pending | succeeded | failed
    # The Refund id at Stripe (re_...), once known.
    provider_refund_id: Mapped[str | None] = mapped_column(String(255))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    failure_code: Mapped[str | None] = mapped_column(String(255))
    failure_message: Mapped[str | None] = mapped_column(Text)
    refunded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
