"""Usage events in the PostgreSQL event store (the default store).

Unique on (organization_id, transaction_id): a retried or duplicated event is stored once.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Numeric, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from bxb.models.base import Base


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("organization_id", "transaction_id"),
        # Aggregation reads one subscription's events of one code over a period.
        Index(
            "ix_events_subscription_code_timestamp",
            "organization_id",
            "external_subscription_id",
            "code",
            "timestamp",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    transaction_id: Mapped[str] = mapped_column(String(255))
    external_subscription_id: Mapped[str] = mapped_column(String(255))
    code: Mapped[str] = mapped_column(String(255))
    timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    properties: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    precise_total_amount_cents: Mapped[Decimal | None] = mapped_column(Numeric(40, 15))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
