"""Add-ons: one-off charges put on one-off invoices."""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from bxb.models.base import Base, SoftDeleteMixin, TenantMixin


class AddOn(TenantMixin, SoftDeleteMixin, Base):
    __tablename__ = "add_ons"
    __table_args__ = (
        Index(
            "uq_add_ons_live_code",
            "organization_id",
            "code",
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    code: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    invoice_display_name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    amount_currency: Mapped[str] = mapped_column(String(3))
