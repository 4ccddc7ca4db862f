"""Usage events rolled up per hour: one row per (organization, external subscription id,
metric code, UTC hour) of the PostgreSQL event store.

Maintained by a statement-level trigger on ``events`` (migration 0014a), in the
inserting transaction: each batch adds its inserted rows (never an idempotent duplicate)
as one upsert per bucket. ``field_name`` is the live metric's field when the rows were
added (``mixed`` when rows of one bucket were added under different fields);
``values_*`` summarize that field's values, those both PostgreSQL and the pure core read
the same way (`bxb.events.rollups`); ``invalid_count`` counts the others, and a bucket
with any is not read for sums or maxima (the raw events are). Events are never updated
or deleted, so a bucket stays exactly the sum of its events.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Boolean, DateTime, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from bxb.models.base import Base


class EventRollup(Base):
    __tablename__ = "event_rollups"

    organization_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    external_subscription_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    code: Mapped[str] = mapped_column(String(255), primary_key=True)
    bucket: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    field_name: Mapped[str | None] = mapped_column(String(255))
    mixed: Mapped[bool] = mapped_column(Boolean)
    events_count: Mapped[int] = mapped_column(BigInteger)
    values_count: Mapped[int] = mapped_column(BigInteger)
    values_sum: Mapped[Decimal] = mapped_column(Numeric)
    values_max: Mapped[Decimal | None] = mapped_column(Numeric)
    invalid_count: Mapped[int] = mapped_column(BigInteger)
