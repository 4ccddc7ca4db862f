"""Plans and their charges: the price list subscriptions are made from."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Numeric, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bxb.models.base import Base, IdMixin, SoftDeleteMixin, TenantMixin, TimestampMixin
from bxb.models.billable_metric import BillableMetric
from bxb.models.fixed_charge import FixedCharge
from bxb.models.search_index import search_indexes
from bxb.models.usage_threshold import UsageThreshold


class Plan(TenantMixin, SoftDeleteMixin, Base):
    __tablename__ = "plans"
    __table_args__ = (
        *search_indexes("plans"),
        # Overridden copies (parent_id set) share their parent's code.
        Index(
            "uq_plans_live_code",
            "organization_id",
            "code",
            unique=True,
            postgresql_where=text("deleted_at IS NULL AND parent_id IS NULL"),
        ),
    )

    code: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    invoice_display_name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    interval: Mapped[str] = mapped_column(String(16))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    amount_currency: Mapped[str] = mapped_column(String(3))
    # Days; Lago allows fractions.
    trial_period: Mapped[Decimal | None] = mapped_column(Numeric(10, 4))
    pay_in_advance: Mapped[bool] = mapped_column(default=False)
    bill_charges_monthly: Mapped[bool | None]
    minimum_commitment_amount_cents: Mapped[int | None] = mapped_column(BigInteger)
    minimum_commitment_invoice_display_name: Mapped[str | None] = mapped_column(String(255))
    # Ids of the taxes on the minimum commitment (applied_taxes has no commitment target).
    minimum_commitment_tax_ids: Mapped[list[str]] = mapped_column(
        JSONB, default=list, server_default=text("'[]'::jsonb")
    )
    # Lago's plan metadata: a key/value object (values strings or null); null when none.
    metadata_: Mapped[dict[str, str | None] | None] = mapped_column("metadata", JSONB)
    # A subscription's plan_overrides make a child copy of the plan (Lago's behaviour).
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("plans.id", ondelete="CASCADE"), index=True
    )

    charges: Mapped[list[Charge]] = relationship(
        back_populates="plan",
        cascade="all, delete-orphan",
        order_by="Charge.created_at",
        primaryjoin="and_(Plan.id == Charge.plan_id, Charge.deleted_at.is_(None))",
        lazy="selectin",
    )
    fixed_charges: Mapped[list[FixedCharge]] = relationship(
        order_by="FixedCharge.created_at",
        primaryjoin="and_(Plan.id == FixedCharge.plan_id, FixedCharge.deleted_at.is_(None))",
        lazy="selectin",
        viewonly=True,
    )
    usage_thresholds: Mapped[list[UsageThreshold]] = relationship(
        order_by="UsageThreshold.amount_cents",
        primaryjoin=(
            "and_(Plan.id == UsageThreshold.plan_id, UsageThreshold.deleted_at.is_(None))"
        ),
        lazy="selectin",
        viewonly=True,
    )


class Charge(TenantMixin, SoftDeleteMixin, Base):
    __tablename__ = "charges"

    plan_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("plans.id", ondelete="CASCADE"), index=True
    )
    billable_metric_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("billable_metrics.id"), index=True
    )
    code: Mapped[str | None] = mapped_column(String(255))
    charge_model: Mapped[str] = mapped_column(String(32))
    # Lago's properties object, validated by billing.charges before it is stored.
    properties: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    invoice_display_name: Mapped[str | None] = mapped_column(String(255))
    pay_in_advance: Mapped[bool] = mapped_column(default=False)
    invoiceable: Mapped[bool] = mapped_column(default=True)
    prorated: Mapped[bool] = mapped_column(default=False)
    min_amount_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    regroup_paid_fees: Mapped[str | None] = mapped_column(String(32))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("charges.id"), index=True)

    plan: Mapped[Plan] = relationship(back_populates="charges")
    billable_metric: Mapped[BillableMetric] = relationship(lazy="joined")
    filters: Mapped[list[ChargeFilter]] = relationship(
        cascade="all, delete-orphan",
        order_by="ChargeFilter.created_at",
        primaryjoin="and_(Charge.id == ChargeFilter.charge_id, ChargeFilter.deleted_at.is_(None))",
        lazy="selectin",
    )


class ChargeFilter(IdMixin, TimestampMixin, SoftDeleteMixin, Base):
    """A price for the events of a charge whose properties match values."""

    __tablename__ = "charge_filters"

    charge_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("charges.id", ondelete="CASCADE"), index=True
    )
    invoice_display_name: Mapped[str | None] = mapped_column(String(255))
    properties: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # {"region": ["eu", "us"], ...}
    values: Mapped[dict[str, list[str]]] = mapped_column(JSONB, default=dict)
