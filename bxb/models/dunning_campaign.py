"""Dunning campaigns (Lago's premium feature): when a customer's overdue balance is chased.

A campaign asks for payment of a customer's overdue invoices every `days_between_attempts`
days, at most `max_attempts` times per currency, once the overdue balance in a currency
reaches that currency's threshold. One campaign per organization may be the default
(`applied_to_organization`); a customer may be assigned another, or excluded.
"""

from __future__ import annotations

import uuid

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bxb.models.base import Base, IdMixin, SoftDeleteMixin, TenantMixin, TimestampMixin


class DunningCampaign(TenantMixin, SoftDeleteMixin, Base):
    __tablename__ = "dunning_campaigns"
    __table_args__ = (
        Index(
            "uq_dunning_campaigns_live_code",
            "organization_id",
            "code",
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index(
            "uq_dunning_campaigns_applied_to_organization",
            "organization_id",
            unique=True,
            postgresql_where=text("applied_to_organization AND deleted_at IS NULL"),
        ),
    )

    code: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    applied_to_organization: Mapped[bool] = mapped_column(default=False)
    days_between_attempts: Mapped[int] = mapped_column(default=1)
    max_attempts: Mapped[int] = mapped_column(default=1)
    bcc_emails: Mapped[list[str]] = mapped_column(JSONB, default=list)

    thresholds: Mapped[list[DunningCampaignThreshold]] = relationship(
        cascade="all, delete-orphan", order_by="DunningCampaignThreshold.currency", lazy="selectin"
    )


class DunningCampaignThreshold(IdMixin, TimestampMixin, Base):
    """The overdue balance, in one currency, from which the campaign asks for payment."""

    __tablename__ = "dunning_campaign_thresholds"
    __table_args__ = (UniqueConstraint("dunning_campaign_id", "currency"),)

    dunning_campaign_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("dunning_campaigns.id", ondelete="CASCADE")
    )
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
