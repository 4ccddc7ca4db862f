"""One suite, both event stores: PostgreSQL and ClickHouse (chDB in-process).

Every test runs against each store; aggregation results must equal the pure core's
(`bxb.billing.aggregation.aggregate`) on the same events.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bxb.api.app import create_app
from bxb.billing.aggregation import AggregationResult, AggregationType, UsageEvent, aggregate
from bxb.core.settings import Settings
from bxb.events.clickhouse_store import ClickHouseEventStore
from bxb.events.postgres_store import PostgresEventStore
from bxb.events.store import (
    EventFilters,
    EventsRefusedError,
    EventStore,
    NewEvent,
    create_event_store,
)
from tests.conftest import app_client
from tests.integration.test_events import add_metric
from tests.support.auth import Tenant

CHDB_URL = "chdb://"  # in memory; chDB runs one engine per process, shared by every client
START = datetime(2025, 1, 1, tzinfo=UTC)
END = datetime(2025, 2, 1, tzinfo=UTC)


@pytest.fixture(scope="session")
async def clickhouse_store() -> AsyncIterator[ClickHouseEventStore]:
    store = ClickHouseEventStore.connect(CHDB_URL)
    yield store
    await store.close()


@pytest.fixture(params=["postgres", "clickhouse"])
async def store(
    request: pytest.FixtureRequest,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    clickhouse_store: ClickHouseEventStore,
) -> AsyncIterator[EventStore]:
    """Each store, empty; PostgreSQL is emptied by `sessions`, ClickHouse here."""
    if request.param == "postgres":
        postgres = PostgresEventStore(engine)
        yield postgres
        await postgres.close()
    else:
        yield clickhouse_store
        await clickhouse_store.truncate()


def new_event(
    org: uuid.UUID,
    transaction_id: str,
    at: datetime = START,
    properties: dict[str, Any] | None = None,
    *,
    subscription: str = "sub-1",
    code: str = "storage",
    amount: Decimal | None = None,
) -> NewEvent:
    return NewEvent(org, transaction_id, subscription, code, at, properties or {}, amount)


# --- writes and reads -------------------------------------------------------------------------


async def test_insert_reports_duplicates_and_returns_the_stored_original(
    store: EventStore, tenant_a: Tenant
) -> None:
    org = tenant_a.organization_id
    first = await store.insert_many(
        [new_event(org, "a", properties={"gb": 1}), new_event(org, "b", amount=Decimal("1.5"))]
    )
    assert first.created == [True, True]
    assert (first.inserted, first.duplicates) == (2, 0)

    second = await store.insert_many(
        [
            new_event(org, "a", properties={"gb": 2}),
            new_event(org, "c", properties={"gb": 3}),
            new_event(org, "c", properties={"gb": 4}),
        ]
    )
    assert second.created == [False, True, False]
    assert (second.inserted, second.duplicates) == (1, 2)
    assert second.events[0] == first.events[0]
    assert second.events[0].properties == {"gb": 1}
    assert second.events[1] == second.events[2]
    assert second.events[2].properties == {"gb": 3}

    got = await store.get(org, "b")
    assert got == first.events[1]
    assert got is not None
    assert got.precise_total_amount_cents == Decimal("1.5")
    assert got.timestamp == START
    assert await store.get(org, "zzz") is None
    assert (await store.insert_many([])).created == []


async def test_a_refused_postgres_write_raises_and_the_store_writes_on(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    """PostgreSQL only: its writes use connections of their own, kept after a refusal
    (the API's validation keeps such amounts out; ClickHouse would not even refuse them)."""
    store = PostgresEventStore(engine)
    org = tenant_a.organization_id
    too_large = Decimal(10) ** 30  # beyond Numeric(40, 15)
    with pytest.raises(EventsRefusedError) as refused:
        await store.insert_many([new_event(org, "a"), new_event(org, "b", amount=too_large)])
    assert isinstance(refused.value.__cause__, asyncpg.NumericValueOutOfRangeError)
    assert (await store.insert_many([new_event(org, "a")])).created == [True]
    await store.close()


@pytest.mark.parametrize(
    "poison",
    [
        {"properties": {"note": "x\udc00"}},
        {"properties": {"\ud800": 1}},
        {"transaction_id": "t-\ud83d"},
        {"subscription": "s-\udfff"},
    ],
)
async def test_an_event_the_store_cannot_hold_is_refused_as_such(
    store: EventStore, tenant_a: Tenant, poison: dict[str, Any]
) -> None:
    """The driver's error, whatever it is, becomes EventsRefusedError (the API answers 422,
    the group commit writes the other requests apart); nothing is stored."""
    org = tenant_a.organization_id
    bad = new_event(org, **{"transaction_id": "bad", **poison})
    with pytest.raises(EventsRefusedError):
        await store.insert_many([new_event(org, "good"), bad])
    assert await store.get(org, "good") is None
    assert (await store.insert_many([new_event(org, "good")])).created == [True]


async def test_postgres_refuses_nul_as_a_data_error(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    """ClickHouse could hold it; validation refuses it for every store."""
    store = PostgresEventStore(engine)
    org = tenant_a.organization_id
    for poison in ({"properties": {"n": "\x00"}}, {"code": "c\x00"}):
        with pytest.raises(EventsRefusedError):
            await store.insert_many([new_event(org, "a"), new_event(org, "b", **poison)])
    assert (await store.insert_many([new_event(org, "a")])).created == [True]
    await store.close()


async def test_concurrent_inserts_of_one_key_store_it_once(
    store: EventStore, tenant_a: Tenant
) -> None:
    org = tenant_a.organization_id
    results = await asyncio.gather(
        *(store.insert_many([new_event(org, "same", properties={"n": n})]) for n in range(10))
    )
    assert sum(r.inserted for r in results) == 1
    assert len({r.events[0].id for r in results}) == 1
    events, total = await store.list_events(org, EventFilters(), offset=0, limit=100)
    assert total == 1
    assert len(events) == 1


async def test_list_filters_paginates_and_isolates_organizations(
    store: EventStore, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    a, b = tenant_a.organization_id, tenant_b.organization_id
    hour = timedelta(hours=1)
    await store.insert_many(
        [
            new_event(a, "a0", START),
            new_event(a, "a1", START + hour, subscription="sub-2"),
            new_event(a, "a2", START + 2 * hour, code="calls"),
            new_event(a, "a3", START + 2 * hour),
            new_event(b, "a0", START),
        ]
    )

    async def ids(filters: EventFilters, offset: int = 0, limit: int = 10) -> list[str]:
        events, _ = await store.list_events(a, filters, offset=offset, limit=limit)
        return [e.transaction_id for e in events]

    assert await ids(EventFilters()) == ["a3", "a2", "a1", "a0"]
    assert await ids(EventFilters(), offset=1, limit=2) == ["a2", "a1"]
    assert await ids(EventFilters(external_subscription_id="sub-2")) == ["a1"]
    assert await ids(EventFilters(code="calls")) == ["a2"]
    window = EventFilters(timestamp_from=START + hour, timestamp_to=START + 2 * hour)
    assert await ids(window) == ["a3", "a2", "a1"]
    _, total = await store.list_events(a, EventFilters(code="storage"), offset=0, limit=1)
    assert total == 3
    b_events, b_total = await store.list_events(b, EventFilters(), offset=0, limit=10)
    assert b_total == 1
    assert b_events[0].organization_id == b
    assert (await store.get(b, "a0")) != (await store.get(a, "a0"))
    assert await store.get(b, "a1") is None


async def test_fetch_returns_the_period_in_chronological_order(
    store: EventStore, tenant_a: Tenant
) -> None:
    org = tenant_a.organization_id
    await store.insert_many(
        [
            new_event(org, "late", START + timedelta(days=2), {"gb": "2.5", "ok": True, "x": [1]}),
            new_event(org, "b", START, {"gb": 1}),
            new_event(org, "A", START, {"gb": 1.5}),
            new_event(org, "before", START - timedelta(microseconds=1)),
            new_event(org, "at-end", END),
            new_event(org, "other-sub", START, subscription="sub-2"),
            new_event(org, "other-code", START, code="calls"),
        ]
    )
    events = await store.fetch(org, "sub-1", "storage", START, END)
    assert events == [
        UsageEvent(START, {"gb": 1.5}, "A"),
        UsageEvent(START, {"gb": 1}, "b"),
        # Booleans read as their JSON text; nested values (which the API refuses) as str.
        UsageEvent(START + timedelta(days=2), {"gb": "2.5", "ok": "true", "x": "[1]"}, "late"),
    ]
    with pytest.raises(ValueError, match="period_end"):
        await store.fetch(org, "sub-1", "storage", END, START)


# --- aggregation equals the pure core ---------------------------------------------------------


def sample_events(org: uuid.UUID, seed: int) -> list[NewEvent]:
    """Events of one subscription over January, with ties, gaps, strings and floats."""
    rng = random.Random(seed)
    events = []
    for n in range(60):
        at = START + timedelta(seconds=rng.randrange(0, 31 * 86_400, 3_600))
        value: Any = rng.choice(
            [rng.randint(-5, 20), round(rng.uniform(0, 10), 3), str(rng.randint(0, 9)) + ".25"]
        )
        props: dict[str, Any] = {"value": value, "user": rng.choice(["ann", "bob", 7, "7"])}
        if n % 9 == 0:
            props = {"user": None}  # no value: skipped by every field aggregation
        events.append(new_event(org, f"tx-{rng.randrange(10**6):06d}-{n}", at, props))
    events.append(new_event(org, "z-last", START + timedelta(days=3), {"value": 5}))
    events.append(new_event(org, "y-tie", START + timedelta(days=3), {"value": 6}))
    events.append(new_event(org, "outside", END, {"value": 1000, "user": "zed"}))
    events.append(new_event(org, "other", START, {"value": 1000}, subscription="sub-2"))
    return events


def field_for(kind: AggregationType) -> str | None:
    if kind is AggregationType.COUNT:
        return None
    return "user" if kind is AggregationType.UNIQUE_COUNT else "value"


def pure(
    kind: AggregationType, events: list[NewEvent], initial: Decimal, per_event: bool
) -> AggregationResult:
    usage = [
        UsageEvent(e.timestamp, e.properties, e.transaction_id)
        for e in events
        if e.external_subscription_id == "sub-1"
    ]
    field = field_for(kind)
    result = aggregate(kind, usage, field, START, END, initial_value=initial)
    return result if per_event else replace(result, per_event_values=())


@pytest.mark.parametrize("kind", list(AggregationType))
@pytest.mark.parametrize("per_event", [False, True])
async def test_aggregation_in_sql_equals_the_pure_core(
    store: EventStore, tenant_a: Tenant, kind: AggregationType, per_event: bool
) -> None:
    org = tenant_a.organization_id
    events = sample_events(org, seed=7)
    await store.insert_many(events)
    initial = Decimal("3.5") if kind is AggregationType.WEIGHTED_SUM else Decimal(0)
    field = field_for(kind)
    result = await store.aggregate(
        org,
        "sub-1",
        "storage",
        kind,
        field,
        START,
        END,
        initial_value=initial,
        per_event_values=per_event,
    )
    assert result == pure(kind, events, initial, per_event)
    # And from the store's own fetch: the same events come back.
    fetched = await store.fetch(org, "sub-1", "storage", START, END)
    assert len(fetched) == 62


@pytest.mark.parametrize("kind", list(AggregationType))
async def test_aggregation_of_an_empty_period(
    store: EventStore, tenant_a: Tenant, kind: AggregationType
) -> None:
    initial = Decimal(2)
    result = await store.aggregate(
        tenant_a.organization_id,
        "sub-1",
        "storage",
        kind,
        "value",
        START,
        END,
        initial_value=initial,
    )
    expected = aggregate(kind, [], "value", START, END, initial_value=initial)
    assert result == expected


async def test_latest_breaks_timestamp_ties_by_transaction_id_code_point(
    store: EventStore, tenant_a: Tenant
) -> None:
    org = tenant_a.organization_id
    await store.insert_many(
        [new_event(org, "a", START, {"v": 1}), new_event(org, "B", START, {"v": 2})]
    )
    result = await store.aggregate(org, "sub-1", "storage", "latest_agg", "v", START, END)
    assert result.value == Decimal(1)  # "a" > "B" by code point


@pytest.mark.parametrize("kind", ["sum_agg", "max_agg", "latest_agg", "weighted_sum_agg"])
async def test_non_numeric_values_fail_like_the_pure_core(
    store: EventStore, tenant_a: Tenant, kind: str
) -> None:
    org = tenant_a.organization_id
    await store.insert_many(
        [new_event(org, "bad", START, {"v": "abc"}), new_event(org, "ok", START, {"v": 2})]
    )
    with pytest.raises(ValueError, match="numeric"):
        aggregate(kind, await store.fetch(org, "sub-1", "storage", START, END), "v", START, END)
    with pytest.raises(ValueError, match="numeric"):
        await store.aggregate(org, "sub-1", "storage", kind, "v", START, END)


async def test_aggregation_argument_errors(store: EventStore, tenant_a: Tenant) -> None:
    org = tenant_a.organization_id
    with pytest.raises(ValueError, match="field_name"):
        await store.aggregate(org, "sub-1", "storage", "sum_agg", None, START, END)
    with pytest.raises(ValueError, match="period_end"):
        await store.aggregate(org, "sub-1", "storage", "count_agg", None, END, START)
    with pytest.raises(ValueError, match="timezone"):
        await store.aggregate(
            org, "sub-1", "storage", "count_agg", None, START.replace(tzinfo=None), END
        )
    with pytest.raises(ValueError, match="median_agg"):
        await store.aggregate(org, "sub-1", "storage", "median_agg", "v", START, END)


# --- choosing a store, and the API on ClickHouse ----------------------------------------------


async def test_factory_picks_the_store_from_settings(
    settings: Settings, engine: AsyncEngine, clickhouse_store: ClickHouseEventStore
) -> None:
    assert isinstance(create_event_store(settings, engine), PostgresEventStore)
    chdb = settings.model_copy(update={"clickhouse_url": CHDB_URL})
    store = create_event_store(chdb, engine)
    assert isinstance(store, ClickHouseEventStore)
    await store.close()


async def test_the_api_ingests_into_clickhouse_when_configured(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    clickhouse_store: ClickHouseEventStore,
    tmp_path: Path,
) -> None:
    await add_metric(sessions, tenant_a, "storage", "sum_agg", "gb")
    chdb = settings.model_copy(update={"clickhouse_url": CHDB_URL})
    payload = {
        "transaction_id": "ch-1",
        "external_subscription_id": "sub-1",
        "code": "storage",
        "timestamp": 1_735_732_800,
        "properties": {"gb": "2.5"},
    }
    try:
        async for client in app_client(create_app(chdb)):
            one = await client.post(
                "/api/v1/events", json={"event": payload}, headers=tenant_a.headers
            )
            assert one.status_code == 200
            batch = await client.post(
                "/api/v1/events/batch",
                json={"events": [payload, {**payload, "transaction_id": "ch-2"}]},
                headers=tenant_a.headers,
            )
            first = batch.json()["events"][0]
            assert first["lago_id"] == one.json()["event"]["lago_id"]
            got = await client.get("/api/v1/events/ch-2", headers=tenant_a.headers)
            assert got.json()["event"]["properties"] == {"gb": "2.5"}
            listed = await client.get("/api/v1/events", headers=tenant_a.headers)
            assert listed.json()["meta"]["total_count"] == 2
        total = await clickhouse_store.aggregate(
            tenant_a.organization_id,
            "sub-1",
            "storage",
            "sum_agg",
            "gb",
            datetime(2025, 1, 1, tzinfo=UTC),
            datetime(2025, 1, 2, tzinfo=UTC),
        )
        assert total.value == Decimal(5)
        assert await clickhouse_store.list_events(
            tenant_a.organization_id, EventFilters(), offset=0, limit=1
        ) != ([], 0)
    finally:
        await clickhouse_store.truncate()
