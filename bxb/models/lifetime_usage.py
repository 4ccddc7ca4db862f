"""A subscription's lifetime usage: the part only the customer's own history knows.

Invoiced and current usage are computed from invoices and events when asked; what is
stored is the usage billed before the subscription came to bxb
(`external_historical_usage_amount_cents`, set by PUT .../lifetime_usage). One row per
subscription external id, across its plan changes (Lago counts lifetime usage across
upgrades and downgrades).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from bxb.models.base import Base, TenantMixin


class LifetimeUsage(TenantMixin, Base):
    __tablename__ = "lifetime_usages"
    __table_args__ = (
        Index(
            "uq_lifetime_usages_org_external_subscription",
            "organization_id",
            "external_subscription_id",
            unique=True,
        ),
    )

    external_subscription_id: Mapped[str] = mapped_column(String(255))
    historical_usage_amount_cents: Mapped[int] = mapped_column(BigInteger, default=0)
