"""A customer's "now": its test clock's frozen time when it is on one, else the wall clock."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.models import Customer, TestClock


async def customer_now(session: AsyncSession, customer: Customer) -> datetime:
    if customer.test_clock_id is not None:
        frozen: datetime | None = await session.scalar(
            select(TestClock.frozen_time).where(TestClock.id == customer.test_clock_id)
        )
        if frozen is not None:
            return frozen
    return datetime.now(UTC)
