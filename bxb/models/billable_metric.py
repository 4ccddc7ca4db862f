"""Billable metrics: how events of one code aggregate into billable units."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bxb.models.base import Base, IdMixin, SoftDeleteMixin, TenantMixin, TimestampMixin


class BillableMetric(TenantMixin, SoftDeleteMixin, Base):
    __tablename__ = "billable_metrics"
    __table_args__ = (
        Index(
            "uq_billable_metrics_live_code",
            "organization_id",
            "code",
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    code: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    aggregation_type: Mapped[str] = mapped_column(String(32))
    field_name: Mapped[str | None] = mapped_column(String(255))
    recurring: Mapped[bool] = mapped_column(default=False)
    weighted_interval: Mapped[str | None] = mapped_column(String(16))
    rounding_function: Mapped[str | None] = mapped_column(String(16))
    rounding_precision: Mapped[int | None]
    expression: Mapped[str | None] = mapped_column(Text)

    filters: Mapped[list[BillableMetricFilter]] = relationship(
        cascade="all, delete-orphan", order_by="BillableMetricFilter.key", lazy="selectin"
    )


class BillableMetricFilter(IdMixin, TimestampMixin, Base):
    """A filter key events may carry, and the values it may take."""

    __tablename__ = "billable_metric_filters"
    __table_args__ = (UniqueConstraint("billable_metric_id", "key"),)

    billable_metric_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("billable_metrics.id", ondelete="CASCADE")
    )
    key: Mapped[str] = mapped_column(String(255))
    values: Mapped[list[str]] = mapped_column(JSONB, default=list)
