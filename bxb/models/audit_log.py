"""The audit trail: activity logs (who changed what) and API logs (who called what).

Rows are written once and never changed: a trigger (migration 0011c) refuses UPDATE,
and DELETE outside the retention job. No foreign key to organizations on purpose.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Index, SmallInteger, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from bxb.models.base import Base


class ActivityLog(Base):
    __tablename__ = "activity_logs"
    __table_args__ = (
        Index(
            "ix_activity_logs_org_logged",
            "organization_id",
            text("logged_at DESC"),
            text("id DESC"),
        ),
        Index("ix_activity_logs_org_resource", "organization_id", "resource_id"),
        Index(
            "ix_activity_logs_org_customer",
            "organization_id",
            "external_customer_id",
            text("logged_at DESC"),
            postgresql_where=text("external_customer_id IS NOT NULL"),
        ),
        Index(
            "ix_activity_logs_org_subscription",
            "organization_id",
            "external_subscription_id",
            text("logged_at DESC"),
            postgresql_where=text("external_subscription_id IS NOT NULL"),
        ),
        Index(
            "ix_activity_logs_org_type", "organization_id", "activity_type", text("logged_at DESC")
        ),
        Index("ix_activity_logs_logged", "logged_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[uuid.UUID]
    activity_type: Mapped[str] = mapped_column(String(64))
    activity_source: Mapped[str] = mapped_column(String(16))  # Lago's api | front | system
    actor_kind: Mapped[str] = mapped_column(String(16))  # bxb's api_key | member | portal ...
    actor_id: Mapped[uuid.UUID | None]
    actor_label: Mapped[str | None] = mapped_column(String(255))
    user_email: Mapped[str | None] = mapped_column(String(255))
    resource_type: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[uuid.UUID]
    external_customer_id: Mapped[str | None] = mapped_column(String(255))
    external_subscription_id: Mapped[str | None] = mapped_column(String(255))
    activity_object: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    activity_object_changes: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    logged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ApiLog(Base):
    __tablename__ = "api_logs"
    __table_args__ = (
        Index("ix_api_logs_org_logged", "organization_id", text("logged_at DESC"), "request_id"),
        Index("ix_api_logs_logged", "logged_at"),
    )

    request_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    organization_id: Mapped[uuid.UUID]
    api_version: Mapped[str] = mapped_column(String(8))
    client: Mapped[str] = mapped_column(String(255))
    http_method: Mapped[str] = mapped_column(String(8))
    http_status: Mapped[int] = mapped_column(SmallInteger)
    request_path: Mapped[str] = mapped_column(String(2048))
    request_origin: Mapped[str] = mapped_column(String(2048))
    request_body: Mapped[str | None] = mapped_column(Text)
    request_response: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[float]
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[uuid.UUID | None]
    actor_label: Mapped[str | None] = mapped_column(String(255))
    user_email: Mapped[str | None] = mapped_column(String(255))
    logged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
