"""Plan usage thresholds (progressive billing) and the thresholds an invoice applied.

A plan's thresholds are replaced as a whole by a plan update; replaced ones are
soft-deleted, never removed, because invoices keep pointing at the thresholds they
applied (Lago's behaviour). Subscriptions bill from the thresholds pinned in their plan
snapshot, not from these rows.
"""

from __future__ import annotations

import uuid

from sqlalchemy import BigInteger, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bxb.models.base import Base, SoftDeleteMixin, TenantMixin


class UsageThreshold(TenantMixin, SoftDeleteMixin, Base):
    __tablename__ = "usage_thresholds"
    __table_args__ = (
        # At most one live recurring threshold per plan, and no live amount twice.
        Index(
            "uq_usage_thresholds_plan_recurring",
            "plan_id",
            unique=True,
            postgresql_where=text("recurring AND deleted_at IS NULL"),
        ),
        Index(
            "uq_usage_thresholds_plan_amount",
            "plan_id",
            "amount_cents",
            "recurring",
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    plan_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("plans.id", ondelete="CASCADE"), index=True
    )
    threshold_display_name: Mapped[str | None] = mapped_column(String(255))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    recurring: Mapped[bool] = mapped_column(default=False)


class AppliedUsageThreshold(TenantMixin, Base):
    """A threshold a progressive billing invoice was issued for (Lago's shape)."""

    __tablename__ = "applied_usage_thresholds"
    __table_args__ = (
        Index(
            "uq_applied_usage_thresholds_invoice_threshold",
            "invoice_id",
            "usage_threshold_id",
            unique=True,
        ),
    )

    invoice_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    usage_threshold_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("usage_thresholds.id"), index=True
    )
    # The subscription's lifetime usage when the invoice was issued.
    lifetime_usage_amount_cents: Mapped[int] = mapped_column(BigInteger)
    # The lifetime amount whose crossing this records (a recurring threshold's n-th step).
    passed_threshold_amount_cents: Mapped[int] = mapped_column(BigInteger)

    usage_threshold: Mapped[UsageThreshold] = relationship(lazy="joined")
