"""What one applied coupon took off one invoice (Lago's coupon-kind `credits`).

Written when the invoice is finalized, so a void can give the coupon back what it took
(Lago's AppliedCoupons::RecreditService) and the invoice can list its coupon credits.
"""

from __future__ import annotations

import uuid

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bxb.models.base import Base, TenantMixin
from bxb.models.invoice import Invoice


class CouponCredit(TenantMixin, Base):
    __tablename__ = "coupon_credits"
    __table_args__ = (UniqueConstraint("invoice_id", "applied_coupon_id"),)

    invoice_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    applied_coupon_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("applied_coupons.id", ondelete="CASCADE"), index=True
    )
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    amount_currency: Mapped[str] = mapped_column(String(3))
    # Set when written, so the unit of work inserts a new invoice before its credits.
    invoice: Mapped[Invoice] = relationship()
