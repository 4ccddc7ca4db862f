"""Fixed charges: an add-on billed every period of a plan, for a number of units."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Numeric, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bxb.models.add_on import AddOn
from bxb.models.base import Base, SoftDeleteMixin, TenantMixin


class FixedCharge(TenantMixin, SoftDeleteMixin, Base):
    __tablename__ = "fixed_charges"
    __table_args__ = (
        # Copies in overridden (child) plans carry parent_id and share their parent's code.
        Index(
            "uq_fixed_charges_live_code",
            "plan_id",
            "code",
            unique=True,
            postgresql_where=text("deleted_at IS NULL AND parent_id IS NULL"),
        ),
    )

    plan_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("plans.id", ondelete="CASCADE"), index=True
    )
    add_on_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("add_ons.id"), index=True)
    code: Mapped[str] = mapped_column(String(255))
    invoice_display_name: Mapped[str | None] = mapped_column(String(255))
    charge_model: Mapped[str] = mapped_column(String(32))  # standard | graduated | volume
    pay_in_advance: Mapped[bool] = mapped_column(default=False)
    prorated: Mapped[bool] = mapped_column(default=False)
    units: Mapped[Decimal] = mapped_column(Numeric(30, 10), default=Decimal(0))
    properties: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # Ids of the fixed charge's own taxes (applied_taxes has no fixed-charge target).
    tax_ids: Mapped[list[str]] = mapped_column(
        JSONB, default=list, server_default=text("'[]'::jsonb")
    )
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("fixed_charges.id", ondelete="SET NULL"), index=True
    )

    add_on: Mapped[AddOn] = relationship(lazy="joined")
