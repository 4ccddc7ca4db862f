"""Portal top-ups by idempotency key: a customer's repeated request buys credits once."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bxb.models.base import Base, TenantMixin


class PortalTopUp(TenantMixin, Base):
    __tablename__ = "portal_top_ups"
    __table_args__ = (UniqueConstraint("customer_id", "idempotency_key"),)

    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    # The paid-credits transaction the first request made.
    wallet_transaction_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("wallet_transactions.id", ondelete="CASCADE")
    )
