"""The usage watcher against the real PostgreSQL: which subscriptions it signals, how
often, and what a failed signal costs (nothing but a log line)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bxb.events.store import StoredEvent
from bxb.usage_reactions.interest import Connection, EventTest, Interest, SubscriptionKey
from bxb.usage_reactions.watcher import UsageWatcher, forget_interests
from bxb.workflows.subscription import workflow_id

ORG = uuid.uuid4()


def _event(external_id: str, code: str = "calls", n: int = 0) -> StoredEvent:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    return StoredEvent(uuid.uuid4(), ORG, f"tx_{n}", external_id, code, at, {}, None, at)


class Watched:
    """An interest in fixed subscriptions (events of code "calls"), counting its lookups."""

    def __init__(self, *external_ids: str) -> None:
        self.external_ids = set(external_ids)
        self.lookups: list[list[SubscriptionKey]] = []

    async def load(
        self, conn: Connection, keys: Sequence[SubscriptionKey]
    ) -> dict[SubscriptionKey, EventTest]:
        assert await conn.fetchval("SELECT 1") == 1  # the watcher's raw connection
        self.lookups.append(list(keys))
        return {k: (lambda e: e.code == "calls") for k in keys if k[1] in self.external_ids}


class Signals:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[str] = []
        self.fail = fail

    async def __call__(self, target: str) -> None:
        if self.fail:
            raise RuntimeError("Temporal is down")
        self.sent.append(target)


@pytest.fixture
def watched() -> Watched:
    return Watched("sub_a", "sub_b")


async def _watcher(
    engine: AsyncEngine, watched: Watched, signals: Signals, window: float, rate: float = 0
) -> UsageWatcher:
    interests = [Interest("test", watched.load)]
    watcher = UsageWatcher(engine, signals, interests, window=window, ttl=60, max_rate=rate)
    watcher.start()
    return watcher


async def test_one_signal_at_once_then_one_per_window(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], watched: Watched
) -> None:
    signals = Signals()
    watcher = await _watcher(engine, watched, signals, window=0.3)
    try:
        watcher.observe([_event("sub_a", n=n) for n in range(50)])
        watcher.observe([_event("sub_b"), _event("sub_c"), _event("sub_b", "other")])
        await asyncio.sleep(0.05)
        # The first events of a quiet subscription are signalled at once.
        assert sorted(signals.sent) == [workflow_id(ORG, "sub_a"), workflow_id(ORG, "sub_b")]
        # More within the window: one more signal, at the window's end.
        for n in range(10):
            watcher.observe([_event("sub_a", n=100 + n)])
            await asyncio.sleep(0.01)
        assert signals.sent.count(workflow_id(ORG, "sub_a")) == 1
        await watcher.flush()
        assert signals.sent.count(workflow_id(ORG, "sub_a")) == 2
        assert signals.sent.count(workflow_id(ORG, "sub_b")) == 1
        # Subscriptions are looked up once per TTL, not per batch.
        assert sorted(k[1] for keys in watched.lookups for k in keys) == [
            "sub_a",
            "sub_b",
            "sub_c",
        ]
        assert watcher.stats.observed == 63
    finally:
        await watcher.stop()


async def test_a_failed_signal_is_counted_and_dropped(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], watched: Watched
) -> None:
    signals = Signals(fail=True)
    watcher = await _watcher(engine, watched, signals, window=0.05)
    try:
        watcher.observe([_event("sub_a")])
        await watcher.flush()
        assert (watcher.stats.signals, watcher.stats.failed_signals) == (0, 1)
        signals.fail = False  # the next event is signalled again
        await asyncio.sleep(0.06)
        watcher.observe([_event("sub_a", n=1)])
        await watcher.flush()
        assert signals.sent == [workflow_id(ORG, "sub_a")]
    finally:
        await watcher.stop()


async def test_a_catalog_change_clears_the_cache(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], watched: Watched
) -> None:
    watcher = await _watcher(engine, watched, Signals(), window=0.0)
    try:
        watcher.observe([_event("sub_a")])
        await watcher.flush()
        watcher.observe([_event("sub_a", n=1)])
        await watcher.flush()
        assert len(watched.lookups) == 1
        forget_interests()  # what the ORM listeners call when a plan or charge changes
        watcher.observe([_event("sub_a", n=2)])
        await watcher.flush()
        assert len(watched.lookups) == 2
    finally:
        await watcher.stop()


async def test_signals_are_paced_and_keep_coalescing_while_they_wait(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    keys = [f"sub_{n}" for n in range(5)]
    signals = Signals()
    watcher = await _watcher(engine, Watched(*keys), signals, window=0.0, rate=10)
    try:
        started = time.monotonic()
        watcher.observe([_event(key) for key in keys])
        await asyncio.sleep(0.05)
        watcher.observe([_event(key, n=1) for key in keys])  # while their signals wait
        await watcher.flush()
        took = time.monotonic() - started
        # 10 a second: the first goes at once, the others 0.1 s apart; the second events
        # of the four still waiting join their pending signal, sub_0's gets one more.
        assert took >= 0.49
        counts = [signals.sent.count(workflow_id(ORG, key)) for key in keys]
        assert counts == [2, 1, 1, 1, 1]
    finally:
        await watcher.stop()
