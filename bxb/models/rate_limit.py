"""Rate limits: an organization's overrides of the defaults, and the shared counters."""

from __future__ import annotations

import uuid

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bxb.models.base import Base, TimestampMixin


class RateLimitOverride(TimestampMixin, Base):
    """An organization's own limit for one route class (events, reads, writes)."""

    __tablename__ = "rate_limit_overrides"

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    route_class: Mapped[str] = mapped_column(String(8), primary_key=True)
    limit: Mapped[int] = mapped_column(Integer)
    # Seconds per fixed window.
    period: Mapped[int] = mapped_column(Integer)


class RateLimitCounter(Base):
    """Requests counted across API processes for one key, route class and window.

    No foreign key and no organization column: it is written on the ingestion path and
    holds nothing but a number that is worthless a minute later (UNLOGGED table, purged
    by the limiter itself).
    """

    __tablename__ = "rate_limit_counters"

    key_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    route_class: Mapped[str] = mapped_column(String(8), primary_key=True)
    # The window's end, in seconds since the epoch (identifies the window for its period).
    window_end: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
