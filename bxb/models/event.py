"""Usage events in the PostgreSQL event store (the default store).

The primary key is the idempotency key, (organization_id, transaction_id): a retried or
duplicated event is stored once. ``id`` is the Lago id shown to clients; it is not
indexed because nothing looks events up by it.

There is deliberately no foreign key to organizations: this is the highest-volume
table, and the per-row foreign-key check doubled the database time of a batch insert
(see bench/ingest.py). Organizations are never hard-deleted by bxb; the API resolves the
organization from the API key before anything is written.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Index, Numeric, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from bxb.models.base import Base


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        # Aggregation reads one subscription's events of one code over a period.
        Index(
            "ix_events_subscription_code_timestamp",
            "organization_id",
            "external_subscription_id",
            "code",
            "timestamp",
        ),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    transaction_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(default=uuid.uuid4, server_default=func.gen_random_uuid())
    external_subscription_id: Mapped[str] = mapped_column(String(255))
    code: Mapped[str] = mapped_column(String(255))
    timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    properties: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    precise_total_amount_cents: Mapped[Decimal | None] = mapped_column(Numeric(40, 15))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
