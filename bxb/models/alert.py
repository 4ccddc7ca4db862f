"""Usage and wallet alerts (Lago's usage_monitoring tables).

An alert watches a subscription (by external id, so it follows plan changes) or a wallet.
`previous_value` is the last reading; a triggered alert records one reading that crossed
thresholds. Each crossing is also a row of `usage_monitoring_alert_crossings`, unique on
(alert, crossing key, threshold value): the crossing key is the billing period for
current-usage alerts and the alert's rearm count for the others, so a threshold fires once
per period (or once per fall of a balance), whatever runs concurrently.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Numeric, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bxb.models.base import Base, SoftDeleteMixin, TenantMixin

_KEPT = "deleted_at IS NULL"


class UsageAlert(TenantMixin, SoftDeleteMixin, Base):
    __tablename__ = "usage_monitoring_alerts"
    __table_args__ = (
        Index(
            "uq_alerts_code_per_subscription",
            "organization_id",
            "subscription_external_id",
            "code",
            unique=True,
            postgresql_where=text(f"{_KEPT} AND subscription_external_id IS NOT NULL"),
        ),
        Index(
            "uq_alerts_code_per_wallet",
            "organization_id",
            "wallet_id",
            "code",
            unique=True,
            postgresql_where=text(f"{_KEPT} AND wallet_id IS NOT NULL"),
        ),
        Index(
            "uq_alerts_type_per_subscription",
            "organization_id",
            "subscription_external_id",
            "alert_type",
            unique=True,
            postgresql_where=text(
                f"{_KEPT} AND subscription_external_id IS NOT NULL AND billable_metric_id IS NULL"
            ),
        ),
        Index(
            "uq_alerts_type_per_subscription_metric",
            "organization_id",
            "subscription_external_id",
            "alert_type",
            "billable_metric_id",
            unique=True,
            postgresql_where=text(f"{_KEPT} AND billable_metric_id IS NOT NULL"),
        ),
        Index(
            "uq_alerts_type_per_wallet",
            "organization_id",
            "wallet_id",
            "alert_type",
            unique=True,
            postgresql_where=text(f"{_KEPT} AND wallet_id IS NOT NULL"),
        ),
        Index("ix_alerts_org_subscription", "organization_id", "subscription_external_id"),
    )

    alert_type: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    direction: Mapped[str] = mapped_column(String(16), default="increasing")
    subscription_external_id: Mapped[str | None] = mapped_column(String(255))
    wallet_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("wallets.id"), index=True)
    billable_metric_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("billable_metrics.id"))
    previous_value: Mapped[Decimal] = mapped_column(Numeric(30, 5), default=Decimal(0))
    # What previous_value was read in: the billing period's start for current-usage alerts
    # (a new period starts from zero), else the rearm count (see crossing_key).
    reading_key: Mapped[str | None] = mapped_column(String(64))
    # How often the value moved back across the alert's direction (rearming it).
    rearms: Mapped[int] = mapped_column(default=0)
    last_processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    thresholds: Mapped[list[AlertThreshold]] = relationship(
        cascade="all, delete-orphan", order_by="AlertThreshold.position", lazy="selectin"
    )


class AlertThreshold(TenantMixin, Base):
    __tablename__ = "usage_monitoring_alert_thresholds"

    alert_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("usage_monitoring_alerts.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    code: Mapped[str | None] = mapped_column(String(255))
    value: Mapped[Decimal] = mapped_column(Numeric(30, 5))
    recurring: Mapped[bool] = mapped_column(default=False)


class TriggeredAlert(TenantMixin, Base):
    __tablename__ = "usage_monitoring_triggered_alerts"

    alert_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("usage_monitoring_alerts.id"), index=True
    )
    subscription_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("subscriptions.id"))
    wallet_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("wallets.id"))
    current_value: Mapped[Decimal] = mapped_column(Numeric(30, 5))
    previous_value: Mapped[Decimal] = mapped_column(Numeric(30, 5))
    # [{"code", "value", "recurring"}] as Lago sends them.
    crossed_thresholds: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    triggered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AlertCrossing(TenantMixin, Base):
    """One threshold crossed once: the business key that makes alert.triggered exactly-once."""

    __tablename__ = "usage_monitoring_alert_crossings"
    __table_args__ = (UniqueConstraint("alert_id", "crossing_key", "value"),)

    alert_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("usage_monitoring_alerts.id", ondelete="CASCADE")
    )
    crossing_key: Mapped[str] = mapped_column(String(64))
    value: Mapped[Decimal] = mapped_column(Numeric(30, 5))
    triggered_alert_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("usage_monitoring_triggered_alerts.id", ondelete="CASCADE"), index=True
    )
