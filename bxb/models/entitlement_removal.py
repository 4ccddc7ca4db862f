"""A subscription's removal of a feature, or of one privilege, that its plan grants
(Lago's entitlement_subscription_feature_removals). Exactly one of feature_id and
privilege_id is set."""

from __future__ import annotations

import uuid

from sqlalchemy import CheckConstraint, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from bxb.models.base import Base, TenantMixin


class EntitlementRemoval(TenantMixin, Base):
    __tablename__ = "entitlement_removals"
    __table_args__ = (
        CheckConstraint(
            "(feature_id IS NULL) <> (privilege_id IS NULL)", name="one_feature_or_privilege"
        ),
        Index("uq_entitlement_removals_feature", "subscription_id", "feature_id", unique=True),
        Index("uq_entitlement_removals_privilege", "subscription_id", "privilege_id", unique=True),
    )

    subscription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE")
    )
    feature_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("features.id", ondelete="CASCADE"), index=True
    )
    privilege_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("privileges.id", ondelete="CASCADE"), index=True
    )
