"""A customer's time: its "now" (its test clock's frozen time when it is on one, else the
wall clock) and its timezone (its own, else its organization's)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.billing.subscription_fees import zone
from bxb.models import Customer, Organization, TestClock


async def customer_now(session: AsyncSession, customer: Customer) -> datetime:
    if customer.test_clock_id is not None:
        frozen: datetime | None = await session.scalar(
            select(TestClock.frozen_time).where(TestClock.id == customer.test_clock_id)
        )
        if frozen is not None:
            return frozen
    return datetime.now(UTC)


def customer_zone(customer: Customer, organization: Organization) -> ZoneInfo:
    return zone(customer.timezone or organization.timezone)
