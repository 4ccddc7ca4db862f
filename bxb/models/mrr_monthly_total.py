"""MRR movements summed per organization, currency, month and kind (a rollup).

Written with each movement, in its transaction (bxb.ledger.mrr_movements): one upsert
adds the movement's delta and 1 to its month's row. Movements are never updated or
deleted, so the rollup stays exactly the sum of them; the dashboard reads a few dozen
rows instead of every movement. `month` is the first instant of the movement's month
in UTC. Unique on (organization, currency, month, kind).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bxb.models.base import Base, TenantMixin


class MrrMonthlyTotal(TenantMixin, Base):
    __tablename__ = "mrr_monthly_totals"
    __table_args__ = (
        UniqueConstraint(
            "organization_id", "currency", "month", "kind", name="uq_mrr_monthly_totals_key"
        ),
    )

    currency: Mapped[str] = mapped_column(String(3))
    month: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(16))
    movements: Mapped[int] = mapped_column(Integer)
    delta_cents: Mapped[int] = mapped_column(BigInteger)
