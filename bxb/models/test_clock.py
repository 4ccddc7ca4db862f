"""Test clocks (a bxb extension, as in Stripe): simulated "now" for attached customers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from bxb.models.base import Base, TenantMixin


class TestClock(TenantMixin, Base):
    __tablename__ = "test_clocks"
    __test__ = False  # not a pytest test class, despite the name

    name: Mapped[str] = mapped_column(String(255))
    frozen_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default="ready")  # ready | advancing | failed
    # When an advance failed: which subscription and why.
    failure: Mapped[str | None] = mapped_column(String(2000))
