"""Trials of subscriptions: one row per subscription that started with a free trial.

Written by the subscription's activities: at the start (a plan with trial days), at the
trial's end (`converted_at`: the subscription starts paying, an MRR `new` movement), or
when it is terminated during the trial (`ended_at` without `converted_at`). An open row
(ended_at NULL) means the subscription is trialing and has no MRR yet. Unique on
(organization, subscription external_id, started_at): a retry writes nothing new.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bxb.models.base import Base, TenantMixin


class SubscriptionTrial(TenantMixin, Base):
    __tablename__ = "subscription_trials"
    __table_args__ = (
        UniqueConstraint(
            "organization_id",
            "external_subscription_id",
            "started_at",
            name="uq_subscription_trials_business_key",
        ),
        Index(
            "ix_subscription_trials_org_currency_started",
            "organization_id",
            "currency",
            "started_at",
        ),
    )

    subscription_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subscriptions.id"))
    external_subscription_id: Mapped[str] = mapped_column(String(255))
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"))
    currency: Mapped[str] = mapped_column(String(3))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # When the trial ended (converted or terminated); None: trialing now.
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    converted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
