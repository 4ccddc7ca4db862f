"""The ClickHouse event store, over HTTP or embedded in-process (chDB).

``CLICKHOUSE_URL`` is handed to clickhouse-connect: ``http(s)://user:pass@host:8123/db``
for a server, ``chdb://`` (in memory) or ``chdb:///path`` (on disk) for chDB.

Idempotency. The table is a ReplacingMergeTree ordered by (organization_id,
transaction_id), and every read uses FINAL, so a key stored twice is still read (and
counted) once. Before inserting, a batch is checked against what is stored, so that the
caller learns which events are duplicates and gets the stored original back. The check
alone would not be enough: two processes may check the same new key at the same time
and both insert it. The merge tree is what makes that race harmless; within one process
the group commit runs one batch at a time, so the check is exact there.

Timestamps are DateTime64(6, 'UTC') and are read back as integer microseconds, which
sidesteps the driver's time-zone handling. ``property_text`` holds each non-null
property as the text the pure core compares (JSON booleans as ``true``/``false``), so
that unique counts and numeric casts agree with `bxb.billing.aggregation`. Numbers are
read as Decimal256 with 20 decimal places.

clickhouse-connect's chDB backend is synchronous, so every call runs on one worker
thread, which also serializes them (chDB allows one engine per process).
"""

# ruff: noqa: S608 - SQL here is assembled from constants only; values are bound parameters.

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import clickhouse_connect
from clickhouse_connect.driver.exceptions import DatabaseError, DataError, OperationalError

from bxb.billing.aggregation import AggregationResult, AggregationType, UsageEvent
from bxb.billing.event_summary import EventSummary
from bxb.events.aggregation_sql import microseconds, weighted_average
from bxb.events.store import (
    EventFilters,
    EventKey,
    EventsRefusedError,
    EventStoreUnavailableError,
    InsertResult,
    NewEvent,
    StoredEvent,
    check_period,
    failures_classified,
    usage_properties,
)
from bxb.models.base import utcnow

T = TypeVar("T")
Rows = list[Sequence[Any]]

TABLE = "events"

_CREATE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    organization_id UUID,
    transaction_id String,
    external_subscription_id String,
    code String,
    timestamp DateTime64(6, 'UTC'),
    properties String,
    property_text Map(String, String),
    precise_total_amount_cents Nullable(Decimal(40, 15)),
    id UUID,
    created_at DateTime64(6, 'UTC'),
    INDEX ix_subscription external_subscription_id TYPE bloom_filter GRANULARITY 4
)
ENGINE = ReplacingMergeTree
ORDER BY (organization_id, transaction_id)
SETTINGS fsync_after_insert = 1, fsync_part_directory = 1
"""

_INSERT_COLUMNS = [
    "organization_id",
    "transaction_id",
    "external_subscription_id",
    "code",
    "timestamp",
    "properties",
    "property_text",
    "precise_total_amount_cents",
    "id",
    "created_at",
]

_SELECT = (
    "SELECT id, organization_id, transaction_id, external_subscription_id, code, "
    "toUnixTimestamp64Micro(timestamp), properties, precise_total_amount_cents, "
    f"toUnixTimestamp64Micro(created_at) FROM {TABLE} FINAL"
)

_PERIOD = f"""
FROM {TABLE} FINAL
WHERE organization_id = {{org:UUID}} AND external_subscription_id = {{sub:String}}
  AND code = {{code:String}}
  AND timestamp >= fromUnixTimestamp64Micro({{start:Int64}}, 'UTC')
  AND timestamp < fromUnixTimestamp64Micro({{end:Int64}}, 'UTC')
"""

_NUMERIC_VALUES = f"""
SELECT toUnixTimestamp64Micro(timestamp) AS ts, transaction_id AS tid,
       toDecimal256OrNull(property_text[{{field:String}}], 20) AS v
{_PERIOD} AND mapContains(property_text, {{field:String}})
"""

_NUMERIC_SUMMARY = f"""
SELECT count(), countIf(v IS NULL), sum(v), max(v), argMax(v, (ts, tid)),
       if({{per_event:Bool}}, arrayMap(x -> x.3, arraySort(groupArray((ts, tid, v)))), [])
FROM ({_NUMERIC_VALUES})
"""

_WEIGHTED = f"""
SELECT count(), countIf(v IS NULL), sum(level * (until - ts)), min(ts), sum(v)
FROM (
    SELECT ts, v,
        {{initial:Decimal(76, 20)}} + sum(v) OVER (
            ORDER BY ts, tid ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS level,
        leadInFrame(ts, 1, {{end:Int64}}) OVER (
            ORDER BY ts, tid ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS until
    FROM ({_NUMERIC_VALUES})
)
"""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ClickHouseEventStore:
    concurrent_writes = 1  # calls run one at a time on the store's thread anyway

    def __init__(self, client: Any) -> None:
        self._client = client
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clickhouse")

    @classmethod
    def connect(cls, url: str) -> ClickHouseEventStore:
        client = clickhouse_connect.get_client(dsn=url)
        client.command(_CREATE)
        return cls(client)

    async def _run(self, call: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def insert_many(self, events: Sequence[NewEvent]) -> InsertResult:
        with failures_classified(classify_failure):
            return await self._run(lambda: self._insert_many(events))

    def _insert_many(self, events: Sequence[NewEvent]) -> InsertResult:
        first: dict[EventKey, NewEvent] = {}
        for event in events:
            first.setdefault(event.key, event)
        stored = self._existing(list(first))
        new = [event for key, event in first.items() if key not in stored]
        created_at = _to_micros_precision(utcnow())
        rows = []
        for event in new:
            row = StoredEvent.from_new(event, uuid.uuid4(), created_at)
            stored[event.key] = row
            rows.append(_insert_row(row))
        if rows:
            self._client.insert(TABLE, rows, column_names=_INSERT_COLUMNS)
        fresh = {event.key for event in new}
        created = []
        for event in events:
            created.append(event.key in fresh)
            fresh.discard(event.key)
        return InsertResult([stored[e.key] for e in events], created)

    def _existing(self, keys: list[EventKey]) -> dict[EventKey, StoredEvent]:
        if not keys:
            return {}
        result = self._client.query(
            f"{_SELECT} WHERE organization_id IN {{orgs:Array(UUID)}} "
            "AND transaction_id IN {tids:Array(String)}",
            parameters={
                "orgs": sorted({k[0] for k in keys}),
                "tids": sorted({k[1] for k in keys}),
            },
        )
        wanted = set(keys)
        found = (_stored(row) for row in result.result_rows)
        return {
            (e.organization_id, e.transaction_id): e
            for e in found
            if (e.organization_id, e.transaction_id) in wanted
        }

    async def get(self, organization_id: uuid.UUID, transaction_id: str) -> StoredEvent | None:
        rows = await self._query(
            f"{_SELECT} WHERE organization_id = {{org:UUID}} AND transaction_id = {{tid:String}}",
            {"org": organization_id, "tid": transaction_id},
        )
        return _stored(rows[0]) if rows else None

    async def list_events(
        self, organization_id: uuid.UUID, filters: EventFilters, *, offset: int, limit: int
    ) -> tuple[list[StoredEvent], int]:
        where, params = _list_conditions(organization_id, filters)
        total = await self._query(f"SELECT count() FROM {TABLE} FINAL WHERE {where}", params)
        rows = await self._query(
            f"{_SELECT} WHERE {where} ORDER BY timestamp DESC, transaction_id DESC "
            "LIMIT {limit:UInt64} OFFSET {offset:UInt64}",
            {**params, "limit": limit, "offset": offset},
        )
        return [_stored(r) for r in rows], int(total[0][0])

    async def fetch(
        self,
        organization_id: uuid.UUID,
        external_subscription_id: str,
        code: str,
        start: datetime,
        end: datetime,
    ) -> list[UsageEvent]:
        check_period(start, end)
        rows = await self._query(
            "SELECT toUnixTimestamp64Micro(timestamp), transaction_id, properties "
            f"{_PERIOD} ORDER BY timestamp, transaction_id",
            _scope(organization_id, external_subscription_id, code, start, end),
        )
        return [
            UsageEvent(_from_micros(r[0]), usage_properties(json.loads(r[2])), r[1]) for r in rows
        ]

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
        scope = _scope(organization_id, external_subscription_id, code, start, end)
        if kind is AggregationType.COUNT:
            count = int((await self._query(f"SELECT count() {_PERIOD}", scope))[0][0])
            ones = tuple(Decimal(1) for _ in range(count)) if per_event_values else ()
            return AggregationResult(Decimal(count), count, ones)
        if not field_name:
            raise ValueError(f"{kind} needs a field_name")
        scope["field"] = field_name
        if kind is AggregationType.UNIQUE_COUNT:
            row = (
                await self._query(
                    f"SELECT uniqExact(property_text[{{field:String}}]), count() {_PERIOD} "
                    "AND mapContains(property_text, {field:String})",
                    scope,
                )
            )[0]
            return AggregationResult(Decimal(row[0]), int(row[1]))
        if kind is AggregationType.WEIGHTED_SUM:
            row = (await self._query(_WEIGHTED, {**scope, "initial": initial_value}))[0]
        else:
            row = (await self._query(_NUMERIC_SUMMARY, {**scope, "per_event": per_event_values}))[0]
        count, non_numeric = int(row[0]), int(row[1])
        if non_numeric:
            raise ValueError(f"property {field_name!r} must be numeric in every event")
        if kind is AggregationType.WEIGHTED_SUM:
            first = None if count == 0 else _from_micros(row[3])
            return weighted_average(
                count, row[2] or Decimal(0), first, row[4] or Decimal(0), start, end, initial_value
            )
        if kind is AggregationType.SUM:
            return AggregationResult(row[2] or Decimal(0), count, tuple(row[5]))
        if kind is AggregationType.MAX:
            return AggregationResult(row[3] if count else Decimal(0), count)
        return AggregationResult(row[4] if count else Decimal(0), count)

    async def _query(self, sql: str, parameters: dict[str, Any]) -> Rows:
        def run() -> Rows:
            return list(self._client.query(sql, parameters=parameters).result_rows)

        return await self._run(run)

    async def truncate(self) -> None:
        """Remove every event (tests, and resetting a demo)."""
        await self._run(lambda: self._client.command(f"TRUNCATE TABLE {TABLE}"))

    async def summaries(
        self,
        organization_id: uuid.UUID,
        external_subscription_id: str,
        wanted: Mapping[str, str | None],
        start: datetime,
        end: datetime,
    ) -> dict[str, EventSummary | None]:
        """No rollups here: the caller reads the events (ClickHouse scans them fast)."""
        return dict.fromkeys(wanted)

    async def close(self) -> None:
        await self._run(self._client.close)
        self._executor.shutdown(wait=True)


def classify_failure(exc: Exception) -> Exception | None:
    """The typed error a failed ClickHouse call means, or None if it means neither."""
    if isinstance(exc, OperationalError | OSError):  # the server is unreachable
        return EventStoreUnavailableError(f"ClickHouse: {exc}")
    # The driver encodes each value (a string without UTF-8 form fails) before the server
    # parses it; chDB's binding says only that it could not pass the value on.
    if isinstance(exc, DataError | UnicodeError) or (
        isinstance(exc, DatabaseError) and _CHDB_COULD_NOT_BIND in str(exc)
    ):
        return EventsRefusedError(f"ClickHouse: {exc}")
    return None


_CHDB_COULD_NOT_BIND = "Unable to cast Python instance"


def _scope(
    organization_id: uuid.UUID, subscription: str, code: str, start: datetime, end: datetime
) -> dict[str, Any]:
    return {
        "org": organization_id,
        "sub": subscription,
        "code": code,
        "start": microseconds(start - _EPOCH),
        "end": microseconds(end - _EPOCH),
    }


def _list_conditions(
    organization_id: uuid.UUID, filters: EventFilters
) -> tuple[str, dict[str, Any]]:
    conditions = ["organization_id = {org:UUID}"]
    params: dict[str, Any] = {"org": organization_id}
    if filters.external_subscription_id is not None:
        conditions.append("external_subscription_id = {sub:String}")
        params["sub"] = filters.external_subscription_id
    if filters.code is not None:
        conditions.append("code = {code:String}")
        params["code"] = filters.code
    if filters.timestamp_from is not None:
        conditions.append("timestamp >= fromUnixTimestamp64Micro({from:Int64}, 'UTC')")
        params["from"] = microseconds(filters.timestamp_from - _EPOCH)
    if filters.timestamp_to is not None:
        conditions.append("timestamp <= fromUnixTimestamp64Micro({to:Int64}, 'UTC')")
        params["to"] = microseconds(filters.timestamp_to - _EPOCH)
    return " AND ".join(conditions), params


def property_text(properties: dict[str, Any]) -> dict[str, str]:
    """Each non-null property as the text the pure core compares (str of its value)."""
    return {
        key: str(value) for key, value in usage_properties(properties).items() if value is not None
    }


def _insert_row(event: StoredEvent) -> list[Any]:
    return [
        event.organization_id,
        event.transaction_id,
        event.external_subscription_id,
        event.code,
        event.timestamp,
        json.dumps(event.properties),
        property_text(event.properties),
        event.precise_total_amount_cents,
        event.id,
        event.created_at,
    ]


def _stored(row: Sequence[Any]) -> StoredEvent:
    return StoredEvent(
        id=row[0],
        organization_id=row[1],
        transaction_id=row[2],
        external_subscription_id=row[3],
        code=row[4],
        timestamp=_from_micros(row[5]),
        properties=json.loads(row[6]),
        precise_total_amount_cents=row[7],
        created_at=_from_micros(row[8]),
    )


def _from_micros(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=int(value))


def _to_micros_precision(moment: datetime) -> datetime:
    return moment.astimezone(UTC)
