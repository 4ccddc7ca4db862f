"""MRR movements: one row per change of a subscription's monthly recurring revenue.

Written by the subscription's activities in the transaction of the change they record
(bxb.ledger.mrr_movements), never re-derived later. `occurred_at` is the billing time of
the change (a test clock's time for a customer on a clock), not the wall clock.

The kind is the customer's movement in that currency (ChartMogul's convention): `new`
(the customer's first MRR), `expansion` / `contraction` (the customer's MRR grows or
shrinks and stays above zero), `churn` (it falls to zero), `reactivation` (it rises from
zero again after a churn). Amounts are the subscription's own MRR before and after, in
cents of `currency`; `customer_mrr_after_cents` is the customer's total after the change.

Unique on (organization, subscription external_id, seq): the n-th change of a
subscription is written once, whatever retries or duplicate attempts happen.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bxb.models.base import Base, TenantMixin


class MrrMovement(TenantMixin, Base):
    __tablename__ = "mrr_movements"
    __table_args__ = (
        UniqueConstraint("organization_id", "external_subscription_id", "seq"),
        Index("ix_mrr_movements_org_occurred", "organization_id", "occurred_at"),
        Index("ix_mrr_movements_org_customer", "organization_id", "customer_id", "currency"),
    )

    # The plan segment (subscriptions row) current after the change.
    subscription_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subscriptions.id"))
    external_subscription_id: Mapped[str] = mapped_column(String(255))
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"))
    currency: Mapped[str] = mapped_column(String(3))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # new | expansion | contraction | churn | reactivation
    kind: Mapped[str] = mapped_column(String(16))
    seq: Mapped[int] = mapped_column(Integer)
    mrr_before_cents: Mapped[int] = mapped_column(BigInteger)
    mrr_after_cents: Mapped[int] = mapped_column(BigInteger)
    delta_cents: Mapped[int] = mapped_column(BigInteger)
    customer_mrr_after_cents: Mapped[int] = mapped_column(BigInteger)
    plan_code_before: Mapped[str | None] = mapped_column(String(255))
    plan_code_after: Mapped[str | None] = mapped_column(String(255))
    # The change ended a trial (the subscription's first MRR): a trial conversion.
    trial_conversion: Mapped[bool] = mapped_column(default=False)
