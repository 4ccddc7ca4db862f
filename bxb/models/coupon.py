"""Coupons, the plans or metrics they are limited to, and coupons applied to customers."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bxb.models.base import Base, IdMixin, SoftDeleteMixin, TenantMixin, TimestampMixin


class Coupon(TenantMixin, SoftDeleteMixin, Base):
    __tablename__ = "coupons"
    __table_args__ = (
        Index(
            "uq_coupons_live_code",
            "organization_id",
            "code",
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    code: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    coupon_type: Mapped[str] = mapped_column(String(16))  # fixed_amount | percentage
    amount_cents: Mapped[int | None] = mapped_column(BigInteger)
    amount_currency: Mapped[str | None] = mapped_column(String(3))
    percentage_rate: Mapped[Decimal | None] = mapped_column(Numeric(10, 5))
    frequency: Mapped[str] = mapped_column(String(16))  # once | recurring | forever
    frequency_duration: Mapped[int | None]
    expiration: Mapped[str] = mapped_column(String(16))  # no_expiration | time_limit
    expiration_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reusable: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | terminated
    terminated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    targets: Mapped[list[CouponTarget]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )


class CouponTarget(IdMixin, TimestampMixin, Base):
    """Limits a coupon to a plan or to a billable metric."""

    __tablename__ = "coupon_targets"
    __table_args__ = (
        CheckConstraint("num_nonnulls(plan_id, billable_metric_id) = 1", name="one_target"),
    )

    coupon_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("coupons.id", ondelete="CASCADE"), index=True
    )
    plan_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))
    billable_metric_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("billable_metrics.id", ondelete="CASCADE")
    )


class AppliedCoupon(TenantMixin, Base):
    """A coupon applied to a customer, with what is left of it."""

    __tablename__ = "applied_coupons"

    coupon_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("coupons.id"), index=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | terminated
    amount_cents: Mapped[int | None] = mapped_column(BigInteger)
    amount_cents_remaining: Mapped[int | None] = mapped_column(BigInteger)
    amount_currency: Mapped[str | None] = mapped_column(String(3))
    percentage_rate: Mapped[Decimal | None] = mapped_column(Numeric(10, 5))
    frequency: Mapped[str] = mapped_column(String(16))
    frequency_duration: Mapped[int | None]
    frequency_duration_remaining: Mapped[int | None]
    terminated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    coupon: Mapped[Coupon] = relationship(lazy="joined")
