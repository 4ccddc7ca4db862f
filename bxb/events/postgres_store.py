"""The PostgreSQL event store: the `events` table of the ledger database.

Writes go through asyncpg directly, as one ``INSERT ... SELECT FROM unnest(...)`` per
batch: a single prepared statement whatever the batch size, which is what group commit
needs. ``ON CONFLICT DO NOTHING`` on (organization_id, transaction_id) makes retries and
concurrent duplicates harmless; the rows it skipped are read back in the same
transaction so that the caller can return the stored original.
"""

# ruff: noqa: S608 - SQL here is assembled from constants only; values are bound parameters.

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from bxb.billing.aggregation import AggregationResult, AggregationType, UsageEvent
from bxb.billing.event_summary import EventSummary
from bxb.core import fast_json
from bxb.events import rollups
from bxb.events.aggregation_sql import weighted_average
from bxb.events.postgres_failures import postgres_failures
from bxb.events.store import (
    EventFilters,
    EventKey,
    InsertResult,
    NewEvent,
    StoredEvent,
    check_period,
)
from bxb.models.base import utcnow

_COLUMNS = (
    "id, organization_id, transaction_id, external_subscription_id, code, timestamp, "
    "properties, precise_total_amount_cents, created_at"
)

# One organization's events. Properties travel as one JSON array (a single json.dumps
# for the whole batch); ROWS FROM zips it with the other columns.
_INSERT = f"""
INSERT INTO events ({_COLUMNS})
SELECT gen_random_uuid(), $1::uuid, u.*, $8::timestamptz
FROM ROWS FROM (
    unnest($2::text[]), unnest($3::text[]), unnest($4::text[]), unnest($5::timestamptz[]),
    jsonb_array_elements($6::jsonb), unnest($7::numeric[])
) AS u
ON CONFLICT (organization_id, transaction_id) DO NOTHING
RETURNING transaction_id, id
"""

_SELECT_KEYS = f"""
SELECT {_COLUMNS} FROM events e
JOIN unnest($1::uuid[], $2::text[]) AS k(organization_id, transaction_id)
  USING (organization_id, transaction_id)
"""

# The events of one subscription, code and period; $6 is the metric's field name.
_PERIOD = """
FROM events
WHERE organization_id = $1 AND external_subscription_id = $2 AND code = $3
  AND timestamp >= $4 AND timestamp < $5
"""

# Values of the field, cast once (MATERIALIZED), so that a non-numeric value anywhere in
# the period fails the query as it fails the pure core. COLLATE "C" orders transaction
# ids by code point, as Python does.
_NUMERIC_VALUES = f"""
WITH s AS MATERIALIZED (
    SELECT timestamp AS ts, transaction_id COLLATE "C" AS tid, (properties ->> $6)::numeric AS v
    {_PERIOD} AND properties ->> $6 IS NOT NULL
)
"""

_NUMERIC_SUMMARY = (
    _NUMERIC_VALUES
    + """
SELECT count(*), coalesce(sum(v), 0), coalesce(max(v), 0),
       (SELECT v FROM s ORDER BY ts DESC, tid DESC LIMIT 1),
       CASE WHEN $7 THEN array_agg(v ORDER BY ts, tid) END
FROM s
"""
)

# Each event's value changes a running level; the level holds until the next event (or
# the period's end). Durations are whole microseconds.
_WEIGHTED = (
    _NUMERIC_VALUES
    + """
, w AS (
    SELECT ts, v,
           $7::numeric + sum(v) OVER (ORDER BY ts, tid ROWS UNBOUNDED PRECEDING) AS level,
           lead(ts, 1, $5) OVER (ORDER BY ts, tid) AS until
    FROM s
)
SELECT count(*), coalesce(sum(level * (extract(epoch FROM until - ts) * 1000000)::bigint), 0),
       min(ts), coalesce(sum(v), 0)
FROM w
"""
)


class PostgresEventStore:
    """Reads and writes use connections of their own, not the application's pool.

    Reads: callers often hold a pooled connection of the application already (current
    usage reads the subscription and its taxes first); were the store to take a second
    one from that pool, enough concurrent callers would each hold one and wait for
    another, and the pool would stall until its timeout (it did, at 300 requests/s).
    Writes: group commit writes hundreds of times a second, so its connections skip what
    a pool adds per checkout (a liveness ping, reset on return): a broken writer
    connection is simply dropped and replaced on next use.
    """

    concurrent_writes = 2

    def __init__(self, engine: AsyncEngine, *, writers: int = 4, readers: int = 10) -> None:
        self._dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._idle_writers: list[asyncpg.Connection] = []
        self._writer_slots = asyncio.Semaphore(writers)
        self._reader_count = readers
        self._readers: asyncpg.Pool | None = None
        self._readers_opening = asyncio.Lock()

    async def _reader_pool(self) -> asyncpg.Pool:
        async with self._readers_opening:
            if self._readers is None:
                self._readers = await asyncpg.create_pool(
                    self._dsn,
                    min_size=0,
                    max_size=self._reader_count,
                    server_settings={"timezone": "UTC", "application_name": "bxb-event-reads"},
                )
            return self._readers

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        readers = self._readers or await self._reader_pool()
        async with readers.acquire() as conn:
            yield conn

    @asynccontextmanager
    async def _writer(self) -> AsyncIterator[asyncpg.Connection]:
        async with self._writer_slots:
            conn = None
            while self._idle_writers and conn is None:
                conn = self._idle_writers.pop()
                if conn.is_closed():  # e.g. the server restarted while it was idle
                    conn.terminate()
                    conn = None
            if conn is None:
                conn = await asyncpg.connect(
                    self._dsn, server_settings={"application_name": "bxb-events"}
                )
            try:
                yield conn
            except asyncpg.DataError:
                # The values were refused (a statement of its own, or rolled back): the
                # connection is fine, and a divided batch's next write reuses it.
                self._keep_or_drop(conn)
                raise
            except BaseException:
                conn.terminate()  # its state is unknown; a new one replaces it
                raise
            self._idle_writers.append(conn)

    def _keep_or_drop(self, conn: asyncpg.Connection) -> None:
        if conn.is_closed() or conn.is_in_transaction():
            conn.terminate()
        else:
            self._idle_writers.append(conn)

    async def insert_many(self, events: Sequence[NewEvent]) -> InsertResult:
        with postgres_failures():
            return await self._insert_many(events)

    async def _insert_many(self, events: Sequence[NewEvent]) -> InsertResult:
        by_organization: dict[uuid.UUID, dict[str, NewEvent]] = {}
        for event in events:
            by_organization.setdefault(event.organization_id, {}).setdefault(
                event.transaction_id, event
            )
        created_at = utcnow()
        stored: dict[EventKey, StoredEvent] = {}
        inserted: set[EventKey] = set()
        async with self._writer() as conn:
            # A single statement commits on its own (autocommit), and is durable when it
            # returns; events of several organizations share one transaction.
            several = conn.transaction() if len(by_organization) > 1 else _no_transaction()
            async with several:
                for organization_id, first in by_organization.items():
                    await self._insert_organization(
                        conn, organization_id, first, created_at, stored, inserted
                    )
            # A conflicting row is committed by now (ON CONFLICT waits for its inserter),
            # so this read sees it.
            missing = [
                (org, tid)
                for org, first in by_organization.items()
                for tid in first
                if (org, tid) not in inserted
            ]
            if missing:
                existing = await conn.fetch(
                    _SELECT_KEYS, [k[0] for k in missing], [k[1] for k in missing]
                )
                stored.update({(r[1], r[2]): _stored(r) for r in existing})
        return _result(events, stored, inserted)

    @staticmethod
    async def _insert_organization(
        conn: asyncpg.Connection,
        organization_id: uuid.UUID,
        first: dict[str, NewEvent],
        created_at: datetime,
        stored: dict[EventKey, StoredEvent],
        inserted: set[EventKey],
    ) -> None:
        unique = list(first.values())
        rows = await conn.fetch(
            _INSERT,
            organization_id,
            list(first),
            [e.external_subscription_id for e in unique],
            [e.code for e in unique],
            [e.timestamp for e in unique],
            fast_json.dumps_text([e.properties for e in unique]),
            [e.precise_total_amount_cents for e in unique],
            created_at,
        )
        for transaction_id, id_ in rows:
            key = (organization_id, transaction_id)
            stored[key] = StoredEvent.from_new(first[transaction_id], id_, created_at)
            inserted.add(key)

    async def get(self, organization_id: uuid.UUID, transaction_id: str) -> StoredEvent | None:
        async with self._connection() as conn:
            row = await conn.fetchrow(
                f"SELECT {_COLUMNS} FROM events WHERE organization_id = $1 AND transaction_id = $2",
                organization_id,
                transaction_id,
            )
        return None if row is None else _stored(row)

    async def list_events(
        self, organization_id: uuid.UUID, filters: EventFilters, *, offset: int, limit: int
    ) -> tuple[list[StoredEvent], int]:
        where, args = _list_conditions(organization_id, filters)
        n = len(args)
        async with self._connection() as conn:
            total = await conn.fetchval(f"SELECT count(*) FROM events WHERE {where}", *args)
            rows = await conn.fetch(
                f"SELECT {_COLUMNS} FROM events WHERE {where} "
                f'ORDER BY timestamp DESC, transaction_id COLLATE "C" DESC '
                f"OFFSET ${n + 1} LIMIT ${n + 2}",
                *args,
                offset,
                limit,
            )
        return [_stored(r) for r in rows], int(total)

    async def fetch(
        self,
        organization_id: uuid.UUID,
        external_subscription_id: str,
        code: str,
        start: datetime,
        end: datetime,
    ) -> list[UsageEvent]:
        check_period(start, end)
        async with self._connection() as conn:
            rows = await conn.fetch(
                f'SELECT {_COLUMNS} {_PERIOD} ORDER BY timestamp, transaction_id COLLATE "C"',
                organization_id,
                external_subscription_id,
                code,
                start,
                end,
            )
        return [_stored(r).usage_event() for r in rows]

    async def aggregate(
        self,
        organization_id: uuid.UUID,
        external_subscription_id: str,
        code: str,
        agg_type: AggregationType | str,
        field_name: str | None,
        start: datetime,
        end: datetime,
        *,
        initial_value: Decimal = Decimal(0),
        per_event_values: bool = False,
    ) -> AggregationResult:
        kind = AggregationType(agg_type)
        check_period(start, end)
        scope = (organization_id, external_subscription_id, code, start, end)
        async with self._connection() as conn:
            if kind is AggregationType.COUNT:
                count = int(await conn.fetchval(f"SELECT count(*) {_PERIOD}", *scope))
                ones = tuple(Decimal(1) for _ in range(count)) if per_event_values else ()
                return AggregationResult(Decimal(count), count, ones)
            if not field_name:
                raise ValueError(f"{kind} needs a field_name")
            if kind is AggregationType.UNIQUE_COUNT:
                row = await conn.fetchrow(
                    f"SELECT count(DISTINCT properties ->> $6), count(properties ->> $6) {_PERIOD}",
                    *scope,
                    field_name,
                )
                assert row is not None
                return AggregationResult(Decimal(row[0]), int(row[1]))
            try:
                if kind is AggregationType.WEIGHTED_SUM:
                    row = await conn.fetchrow(_WEIGHTED, *scope, field_name, initial_value)
                else:
                    row = await conn.fetchrow(
                        _NUMERIC_SUMMARY, *scope, field_name, per_event_values
                    )
            except asyncpg.InvalidTextRepresentationError as exc:
                raise ValueError(f"property {field_name!r} must be numeric: {exc}") from exc
        assert row is not None
        count = int(row[0])
        if kind is AggregationType.WEIGHTED_SUM:
            return weighted_average(count, row[1], row[2], row[3], start, end, initial_value)
        if kind is AggregationType.SUM:
            values = tuple(row[4]) if per_event_values and row[4] is not None else ()
            return AggregationResult(row[1], count, values)
        if kind is AggregationType.MAX:
            return AggregationResult(row[2], count)
        return AggregationResult(row[3] if row[3] is not None else Decimal(0), count)

    async def summaries(
        self,
        organization_id: uuid.UUID,
        external_subscription_id: str,
        wanted: Mapping[str, str | None],
        start: datetime,
        end: datetime,
    ) -> dict[str, EventSummary | None]:
        """From the hourly rollup and the raw edges (`bxb.events.rollups`)."""
        check_period(start, end)
        if not wanted:
            return {}
        async with self._connection() as conn:
            return await rollups.summaries(
                conn, organization_id, external_subscription_id, wanted, start, end
            )

    async def close(self) -> None:
        """Close the store's own connections (readers and writers)."""
        idle, self._idle_writers = self._idle_writers, []
        for conn in idle:
            await conn.close()
        readers, self._readers = self._readers, None
        if readers is not None:
            await readers.close()


def _list_conditions(organization_id: uuid.UUID, filters: EventFilters) -> tuple[str, list[Any]]:
    conditions = ["organization_id = $1"]
    args: list[Any] = [organization_id]
    for column, op, value in (
        ("external_subscription_id", "=", filters.external_subscription_id),
        ("code", "=", filters.code),
        ("timestamp", ">=", filters.timestamp_from),
        ("timestamp", "<=", filters.timestamp_to),
    ):
        if value is not None:
            args.append(value)
            conditions.append(f"{column} {op} ${len(args)}")
    return " AND ".join(conditions), args


def _stored(row: asyncpg.Record) -> StoredEvent:
    return StoredEvent(
        id=row[0],
        organization_id=row[1],
        transaction_id=row[2],
        external_subscription_id=row[3],
        code=row[4],
        timestamp=row[5],
        # SQLAlchemy's asyncpg dialect installs a jsonb codec that already decodes.
        properties=row[6] if isinstance(row[6], dict) else json.loads(row[6]),
        precise_total_amount_cents=row[7],
        created_at=row[8],
    )


@asynccontextmanager
async def _no_transaction() -> AsyncIterator[None]:
    yield


def _result(
    events: Sequence[NewEvent], stored: dict[EventKey, StoredEvent], inserted: set[EventKey]
) -> InsertResult:
    """Per input event: the stored row, and whether this input is the one that created it."""
    fresh = set(inserted)
    created = []
    for event in events:
        created.append(event.key in fresh)
        fresh.discard(event.key)  # a repeat later in the same call is a duplicate
    return InsertResult([stored[e.key] for e in events], created)
