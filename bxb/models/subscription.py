"""The Postgres mirror of subscription workflows, for listing and filtering.

The workflow is the source of truth; activities upsert these rows as its state changes.
Lago gives each plan of a subscription its own lago_id (an upgrade terminates one row and
starts another with the same external_id), and so does bxb: one row per plan segment.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from bxb.models.base import Base, TenantMixin
from bxb.models.search_index import search_indexes


class Subscription(TenantMixin, Base):
    __tablename__ = "subscriptions"
    __table_args__ = (
        *search_indexes("subscriptions"),
        Index("ix_subscriptions_org_external_id", "organization_id", "external_id"),
        Index("ix_subscriptions_org_status", "organization_id", "status"),
    )

    external_id: Mapped[str] = mapped_column(String(255))
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    external_customer_id: Mapped[str] = mapped_column(String(255))
    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plans.id"))
    plan_code: Mapped[str] = mapped_column(String(255))
    plan_amount_cents: Mapped[int] = mapped_column(BigInteger)
    plan_amount_currency: Mapped[str] = mapped_column(String(3))
    name: Mapped[str | None] = mapped_column(String(255))
    # pending | active | paused | terminated | canceled
    status: Mapped[str] = mapped_column(String(16))
    billing_time: Mapped[str] = mapped_column(String(16))  # calendar | anniversary
    subscription_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    trial_ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ending_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    terminated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    canceled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    previous_plan_code: Mapped[str | None] = mapped_column(String(255))
    next_plan_code: Mapped[str | None] = mapped_column(String(255))
    downgrade_plan_date: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    current_billing_period_started_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True)
    )
    current_billing_period_ending_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True)
    )
    # Pause and resume (issue 10): the current pause's start, when it resumes, and a pause
    # scheduled at the end of the current period.
    paused_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resume_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    scheduled_pause_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    workflow_id: Mapped[str] = mapped_column(String(255))
