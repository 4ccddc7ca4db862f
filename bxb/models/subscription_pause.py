"""The pauses of subscriptions (bxb's own; Lago has none), for audit and reporting.

The workflow owns a pause (it decides when it starts and ends); its activities write one
row per pause here, in the transaction that records it: an invoice's base fee of 21/31
days is explained by the pauses of its period. Unique on (organization, subscription
external_id, start): a retried activity writes nothing new.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bxb.models.base import Base, TenantMixin


class SubscriptionPause(TenantMixin, Base):
    __tablename__ = "subscription_pauses"
    __table_args__ = (UniqueConstraint("organization_id", "external_id", "started_at"),)

    # The plan segment (subscriptions row) current when the pause started.
    subscription_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    external_id: Mapped[str] = mapped_column(String(255))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # When it ended (a resume, or the subscription's termination); None: still paused.
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When the workflow resumes it (None: only when asked).
    resume_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
