"""Entitlements: a feature granted to a plan, or overridden on one subscription, with a
value per privilege (Lago's entitlement_entitlements and entitlement_entitlement_values).

An entitlement belongs to exactly one of a plan or a subscription (a row of the
subscription mirror: one per plan segment, as Lago has one subscription per plan). Values
are stored as text, as Lago stores them, and cast by the privilege's value type on the way
out. Removing an entitlement or a value deletes the row: nothing else points at them.
"""

from __future__ import annotations

import uuid

from sqlalchemy import CheckConstraint, ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from bxb.models.base import Base, TenantMixin


class Entitlement(TenantMixin, Base):
    __tablename__ = "entitlements"
    __table_args__ = (
        CheckConstraint(
            "(plan_id IS NULL) <> (subscription_id IS NULL)", name="one_plan_or_subscription"
        ),
        Index("uq_entitlements_plan_feature", "plan_id", "feature_id", unique=True),
        Index("uq_entitlements_subscription_feature", "subscription_id", "feature_id", unique=True),
    )

    feature_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("features.id", ondelete="CASCADE"), index=True
    )
    plan_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))
    subscription_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE")
    )


class EntitlementValue(TenantMixin, Base):
    __tablename__ = "entitlement_values"
    __table_args__ = (
        Index("uq_entitlement_values_privilege", "entitlement_id", "privilege_id", unique=True),
    )

    entitlement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("entitlements.id", ondelete="CASCADE")
    )
    privilege_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("privileges.id", ondelete="CASCADE"), index=True
    )
    value: Mapped[str] = mapped_column(Text)
