"""The hourly event rollup (PostgreSQL) gives exactly what the raw events give.

Random events (values as JSON numbers and strings, nulls, missing fields), duplicates by
transaction id, events long in the past, events on bucket edges and on the period's
boundary instants, inserted in concurrent batches; then random periods, each summarized
from the rollup and its edges and compared with the pure core over the raw events.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bxb.billing.aggregation import AggregationType, aggregate
from bxb.billing.event_summary import EventSummary
from bxb.events.postgres_store import PostgresEventStore
from bxb.events.store import NewEvent
from tests.integration.test_events import add_metric
from tests.support.auth import Tenant

START = datetime(2025, 3, 1, tzinfo=UTC)
END = datetime(2025, 4, 1, tzinfo=UTC)
KINDS = (AggregationType.COUNT, AggregationType.SUM, AggregationType.MAX)


def _value(rng: random.Random) -> Any:
    return rng.choice(
        [
            rng.randint(-5, 1000),
            rng.randint(0, 10**6) / 1000,  # a JSON number (a float here)
            str(Decimal(rng.randint(-(10**5), 10**6)) / 100),  # as a string
            None,
            "missing",
            rng.randint(0, 10**12),
        ]
    )


def _moment(rng: random.Random) -> datetime:
    hour = START + timedelta(hours=rng.randint(-48, 31 * 24 + 48))
    return rng.choice(
        [
            hour,  # a bucket's first instant
            hour - timedelta(microseconds=1),  # a bucket's last
            hour + timedelta(seconds=rng.randint(0, 3599), microseconds=rng.randint(0, 999999)),
            START,
            END,
            END - timedelta(microseconds=1),
            START - timedelta(days=400),  # long in the past
        ]
    )


def _events(rng: random.Random, org: Any, n: int, prefix: str) -> list[NewEvent]:
    out = []
    for i in range(n):
        value = _value(rng)
        props: dict[str, Any] = {} if value == "missing" else {"gb": value}
        props["region"] = rng.choice(["eu", "us"])
        code = rng.choice(["storage", "storage", "calls"])
        out.append(NewEvent(org, f"{prefix}-{i}", "sub-1", code, _moment(rng), props))
    return out


async def _check(
    store: PostgresEventStore, org: Any, start: datetime, end: datetime
) -> dict[str, EventSummary | None]:
    wanted: dict[str, str | None] = {"storage": "gb", "calls": None}
    found = await store.summaries(org, "sub-1", wanted, start, end)
    for code, field in wanted.items():
        summary = found[code]
        assert summary is not None, (code, start, end)
        raw = await store.fetch(org, "sub-1", code, start, end)
        for kind in KINDS if field else (AggregationType.COUNT,):
            expected = aggregate(kind, raw, field, start, end)
            got = summary.result(kind)
            assert (got.value, got.event_count) == (expected.value, expected.event_count), (
                code,
                kind,
                start,
                end,
            )
    return found


async def test_rollup_summaries_equal_the_raw_events(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    org = tenant_a.organization_id
    await add_metric(sessions, tenant_a, "storage", "sum_agg", "gb")
    await add_metric(sessions, tenant_a, "calls", "count_agg")
    store = PostgresEventStore(engine)
    rng = random.Random(14)
    try:
        events = _events(rng, org, 1200, "e")
        # Concurrent batches of the same subscription, then duplicates of stored events
        # (other values: they must not count), one batch with repeats inside it.
        batches = [events[i : i + 100] for i in range(0, len(events), 100)]
        await asyncio.gather(*(store.insert_many(b) for b in batches))
        duplicates = [
            NewEvent(e.organization_id, e.transaction_id, "sub-1", e.code, e.timestamp, {"gb": 7})
            for e in rng.sample(events, 200)
        ]
        result = await store.insert_many(duplicates + duplicates[:10])
        assert result.inserted == 0
        periods = [(START, END), (START + timedelta(minutes=90), END - timedelta(seconds=1))]
        periods.append((START + timedelta(minutes=5), START + timedelta(minutes=65)))  # < 2 h
        periods.append((START - timedelta(days=401), END + timedelta(days=3)))
        for _ in range(12):
            a, b = sorted([_moment(rng), _moment(rng)])
            if a < b:
                periods.append((a, b))
        for start, end in periods:
            await _check(store, org, start, end)
        whole = await _check(store, org, START - timedelta(days=401), END + timedelta(days=3))
        assert whole["calls"] is not None
        assert whole["calls"].events_count > 300
    finally:
        await store.close()


async def test_values_the_rollup_cannot_read_send_the_caller_to_the_events(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    org = tenant_a.organization_id
    await add_metric(sessions, tenant_a, "storage", "sum_agg", "gb")
    store = PostgresEventStore(engine)
    at = START + timedelta(days=3, minutes=10)
    try:
        await store.insert_many(
            [
                NewEvent(org, "a", "sub-1", "storage", at, {"gb": 1.5}),
                NewEvent(org, "b", "sub-1", "storage", at, {"gb": "0.0000001"}),  # 7 decimals
                NewEvent(org, "c", "sub-2", "storage", at, {"gb": True}),
                NewEvent(org, "d", "sub-3", "storage", at, {"gb": "abc"}),
                NewEvent(org, "e", "sub-4", "storage", at, {"gb": 2}),
            ]
        )
        for sub in ("sub-1", "sub-2", "sub-3"):
            found = await store.summaries(org, sub, {"storage": "gb"}, START, END)
            assert found == {"storage": None}
            counted = await store.summaries(org, sub, {"storage": None}, START, END)
            assert counted["storage"] is not None
            assert counted["storage"].events_count >= 1
        # Rolled up under field "gb": a metric reading another field is read raw.
        assert await store.summaries(org, "sub-4", {"storage": "tb"}, START, END) == {
            "storage": None
        }
        ok = await store.summaries(org, "sub-4", {"storage": "gb"}, START, END)
        assert ok == {"storage": EventSummary(1, 1, Decimal(2), Decimal(2))}
    finally:
        await store.close()
