"""Taxes and where they apply (organization default, customer, plan, charge, add-on)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bxb.models.base import Base, IdMixin, TenantMixin, TimestampMixin


class Tax(TenantMixin, Base):
    __tablename__ = "taxes"
    __table_args__ = (UniqueConstraint("organization_id", "code"),)

    code: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    # Percent, e.g. 20.0 for 20 %.
    rate: Mapped[Decimal] = mapped_column(Numeric(10, 5))
    applied_to_organization: Mapped[bool] = mapped_column(default=False)


class AppliedTax(IdMixin, TimestampMixin, Base):
    """A tax attached to exactly one customer, plan, charge or add-on."""

    __tablename__ = "applied_taxes"
    __table_args__ = (
        CheckConstraint(
            "num_nonnulls(customer_id, plan_id, charge_id, add_on_id) = 1", name="one_target"
        ),
        UniqueConstraint("tax_id", "customer_id", "plan_id", "charge_id", "add_on_id"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    tax_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("taxes.id", ondelete="CASCADE"))
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    plan_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("plans.id", ondelete="CASCADE"), index=True
    )
    charge_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("charges.id", ondelete="CASCADE"), index=True
    )
    add_on_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("add_ons.id", ondelete="CASCADE"), index=True
    )
