"""Outgoing webhooks: where to send (endpoints), what to send (deliveries), what happened.

A `Webhook` is one event for one endpoint. It is unique on (endpoint, webhook_type,
object_id), which is what makes emitting the same event twice harmless. Every HTTP attempt
at delivering it is a `WebhookAttempt`, so failures can be inspected and listed.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from bxb.models.base import Base, IdMixin, TenantMixin, utcnow


class WebhookEndpoint(TenantMixin, Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (UniqueConstraint("organization_id", "webhook_url"),)

    webhook_url: Mapped[str] = mapped_column(String(1024))
    signature_algo: Mapped[str] = mapped_column(String(8), default="hmac")
    name: Mapped[str | None] = mapped_column(String(255))
    # None: every event type; otherwise only the listed ones.
    event_types: Mapped[list[str] | None] = mapped_column(JSONB(none_as_null=True))


class Webhook(TenantMixin, Base):
    __tablename__ = "webhooks"
    __table_args__ = (
        UniqueConstraint("webhook_endpoint_id", "webhook_type", "object_id"),
        Index("ix_webhooks_status_created_at", "status", "created_at"),
    )

    webhook_endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    webhook_type: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[uuid.UUID]
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|succeeded|failed
    retries: Mapped[int] = mapped_column(Integer, default=0)  # attempts after the first
    http_status: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[str | None] = mapped_column(Text)
    last_retried_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # How many times delivery was restarted by hand: names the delivery workflow run.
    manual_retries: Mapped[int] = mapped_column(Integer, default=0)


class WebhookAttempt(IdMixin, Base):
    __tablename__ = "webhook_attempts"
    __table_args__ = (UniqueConstraint("webhook_id", "attempt"),)

    webhook_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhooks.id", ondelete="CASCADE"), index=True
    )
    attempt: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    http_status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)
