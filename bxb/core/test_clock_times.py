"""The time a test-clock customer's events are stamped and checked with: its clock's.

An event sent without a timestamp happens "now": for a customer on a test clock, at the
clock's frozen time. One stamped more than 24 h past the wall clock is checked against
the clock's time instead (a clock advanced beyond today). `ClockTimes` looks each
subscription's clock up once per request (a batch names a few subscriptions many times).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.subscriptions import test_clock_time


class ClockTimes:
    """The clock times of one request's subscriptions."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], organization_id: uuid.UUID
    ) -> None:
        self.sessions = sessions
        self.organization_id = organization_id
        self._times: dict[str, datetime | None] = {}

    async def of(self, external_subscription_id: str) -> datetime | None:
        """The frozen time of the subscription's customer's test clock (None: not on one)."""
        if external_subscription_id not in self._times:
            self._times[external_subscription_id] = await test_clock_time(
                self.sessions, self.organization_id, external_subscription_id
            )
        return self._times[external_subscription_id]
