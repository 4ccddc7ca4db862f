"""What is left of a pay-in-advance fee deleted through the API (DELETE /fees/{lago_id}).

The fee row itself is deleted, so every rollup trigger takes it back; this row remembers
that its event was billed in advance, so the usage reaction never bills that event again
(`bxb.ledger.instant_fees.billed_transactions`).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from bxb.models.base import Base, TenantMixin


class DeletedFee(TenantMixin, Base):
    __tablename__ = "deleted_fees"
    __table_args__ = (Index("ix_deleted_fees_subscription_charge", "subscription_id", "charge_id"),)

    fee_id: Mapped[uuid.UUID]  # the deleted fee's lago_id
    subscription_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("subscriptions.id"))
    charge_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("charges.id"))
    pay_in_advance_event_transaction_id: Mapped[str | None] = mapped_column(String(255))
    from_datetime: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
