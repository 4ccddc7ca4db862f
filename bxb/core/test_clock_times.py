"""The time a test-clock customer's events are checked against: its clock's, not the wall's.

Ingestion checks an event's timestamp against "now" (at most 24 h ahead) and gives an
event without one "now". For a customer on a test clock, "now" is the clock's frozen
time: an event at the wall clock's time is refused when the clock is months behind it,
and one at the clock's time is accepted when the clock is months ahead.

Looking up a subscription's customer's clock costs a query, which ordinary events must
not pay: whether an organization has any test clock at all is cached per process for a
few seconds (`ORGANIZATION_TTL`). An organization that has none (most, in production)
pays one small query per process every few seconds; one with clocks pays one lookup per
subscription per request. Creating a clock forgets the cache of its organization in this
process; other API processes see the new clock within `ORGANIZATION_TTL`.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.subscriptions import test_clock_time
from bxb.models import TestClock

ORGANIZATION_TTL = 5.0
_has_clocks: dict[uuid.UUID, tuple[bool, float]] = {}


def forget(organization_id: uuid.UUID) -> None:
    """The organization's clocks changed (one was created): look again next time."""
    _has_clocks.pop(organization_id, None)


async def organization_has_clocks(
    sessions: async_sessionmaker[AsyncSession], organization_id: uuid.UUID
) -> bool:
    now = time.monotonic()
    cached = _has_clocks.get(organization_id)
    if cached is not None and cached[1] > now:
        return cached[0]
    async with sessions() as session:
        found = await session.scalar(
            select(TestClock.id).where(TestClock.organization_id == organization_id).limit(1)
        )
    if len(_has_clocks) > 100_000:
        _has_clocks.clear()
    _has_clocks[organization_id] = (found is not None, now + ORGANIZATION_TTL)
    return found is not None


class ClockTimes:
    """The clock times of one request's subscriptions (a batch names a few, many times)."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], organization_id: uuid.UUID
    ) -> None:
        self.sessions = sessions
        self.organization_id = organization_id
        self._has_clocks: bool | None = None
        self._times: dict[str, datetime | None] = {}

    async def has_clocks(self) -> bool:
        if self._has_clocks is None:
            self._has_clocks = await organization_has_clocks(self.sessions, self.organization_id)
        return self._has_clocks

    async def of(self, external_subscription_id: str) -> datetime | None:
        """The frozen time of the subscription's customer's test clock (None: not on one)."""
        if external_subscription_id not in self._times:
            self._times[external_subscription_id] = await test_clock_time(
                self.sessions, self.organization_id, external_subscription_id
            )
        return self._times[external_subscription_id]
