"""The event store interface, its value types, and the factory that picks a store.

Two stores implement `EventStore`: PostgreSQL (the default, in the ledger database) and
ClickHouse (``CLICKHOUSE_URL``: a server over HTTP, or chDB embedded in-process). Both
are idempotent on (organization_id, transaction_id), and both aggregate in SQL with the
semantics of the pure core (`bxb.billing.aggregation`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from bxb.billing.aggregation import AggregationResult, AggregationType, PropertyValue, UsageEvent
from bxb.billing.event_summary import EventSummary
from bxb.core.settings import Settings

EventKey = tuple[uuid.UUID, str]
"""(organization_id, transaction_id): what makes an event unique."""


# The two event types are built once or twice per event on the ingestion path, so they
# are not frozen: a frozen dataclass's __init__ costs about ten times a plain one's. Treat
# them as values all the same (`dataclasses.replace` makes a changed copy).


@dataclass(slots=True)
class NewEvent:
    """A validated event, ready to be stored."""

    organization_id: uuid.UUID
    transaction_id: str
    external_subscription_id: str
    code: str
    timestamp: datetime
    properties: dict[str, Any]
    precise_total_amount_cents: Decimal | None = None

    @property
    def key(self) -> EventKey:
        return (self.organization_id, self.transaction_id)


@dataclass(slots=True)
class StoredEvent:
    id: uuid.UUID
    organization_id: uuid.UUID
    transaction_id: str
    external_subscription_id: str
    code: str
    timestamp: datetime
    properties: dict[str, Any]
    precise_total_amount_cents: Decimal | None
    created_at: datetime

    @classmethod
    def from_new(cls, event: NewEvent, id: uuid.UUID, created_at: datetime) -> StoredEvent:
        return cls(
            id,
            event.organization_id,
            event.transaction_id,
            event.external_subscription_id,
            event.code,
            event.timestamp,
            event.properties,
            event.precise_total_amount_cents,
            created_at,
        )

    def usage_event(self) -> UsageEvent:
        return UsageEvent(self.timestamp, usage_properties(self.properties), self.transaction_id)


@dataclass(frozen=True, slots=True)
class InsertResult:
    """What `insert_many` did: for each input event, in order, the event as stored.

    ``created[i]`` is False when input i was a duplicate (already stored, or repeated
    earlier in the same call); ``events[i]`` is then the stored original.
    """

    events: list[StoredEvent]
    created: list[bool]

    @property
    def inserted(self) -> int:
        return sum(self.created)

    @property
    def duplicates(self) -> int:
        return len(self.created) - self.inserted


class EventStoreUnavailableError(Exception):
    """The store cannot write now (unreachable, shutting down, read-only, out of space).

    Not the events' fault: no retry of a part of the batch would succeed, and the caller
    answers 503.
    """


class EventsRefusedError(Exception):
    """The store refused the values of the events it was given (a data error).

    Validation keeps such events out (`bxb.core.storable`); this is what a
    store raises for one it did not foresee.
    """


def may_be_the_events_fault(error: Exception) -> bool:
    """Whether a failed write may be caused by some of its events (worth dividing)."""
    return not isinstance(error, EventStoreUnavailableError)


@contextmanager
def failures_classified(classify: Callable[[Exception], Exception | None]) -> Iterator[None]:
    """Re-raise a store driver's error as the typed error `classify` makes of it, if any."""
    try:
        yield
    except Exception as exc:
        typed = classify(exc)
        if typed is None:
            raise
        raise typed from exc


@dataclass(frozen=True, slots=True)
class EventFilters:
    external_subscription_id: str | None = None
    code: str | None = None
    timestamp_from: datetime | None = None
    timestamp_to: datetime | None = None


class EventStore(Protocol):
    # How many group commits may write at once: more overlaps a write's round trip with
    # the next batch's validation, where the store can take it.
    concurrent_writes: int

    async def insert_many(self, events: Sequence[NewEvent]) -> InsertResult:
        """Store events not stored yet, atomically; durable when this returns.

        Raises `EventStoreUnavailableError` or `EventsRefusedError` for the failures it can
        tell apart. Retrying after any failure is safe: the key makes it idempotent.
        """

    async def get(self, organization_id: uuid.UUID, transaction_id: str) -> StoredEvent | None:
        """One event by its transaction id, within one organization."""

    async def list_events(
        self, organization_id: uuid.UUID, filters: EventFilters, *, offset: int, limit: int
    ) -> tuple[list[StoredEvent], int]:
        """A page of events, newest first, and the total count matching the filters."""

    async def fetch(
        self,
        organization_id: uuid.UUID,
        external_subscription_id: str,
        code: str,
        start: datetime,
        end: datetime,
    ) -> list[UsageEvent]:
        """Events of one subscription and code in [start, end), chronologically."""

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
        """`bxb.billing.aggregation.aggregate` computed by the database.

        ``per_event_values`` is only filled when asked for (percentage charges need it),
        because it returns one value per event.
        """

    async def summaries(
        self,
        organization_id: uuid.UUID,
        external_subscription_id: str,
        wanted: Mapping[str, str | None],
        start: datetime,
        end: datetime,
    ) -> dict[str, EventSummary | None]:
        """Per metric code of ``wanted`` (with its metric's field name; None when only
        the count is needed), the `EventSummary` of the subscription's events of that code
        in [start, end); None where the store cannot summarize them exactly (then read the
        events with `fetch`)."""

    async def close(self) -> None: ...


def usage_properties(properties: dict[str, Any]) -> dict[str, PropertyValue]:
    """Event properties as the pure core reads them.

    JSON booleans become their JSON text ("true"/"false"), which is also what the SQL
    aggregations see; nested values cannot occur (validation refuses them).
    """
    out: dict[str, PropertyValue] = {}
    for key, value in properties.items():
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif value is None or isinstance(value, str | int | float | Decimal):
            out[key] = value
        else:
            out[key] = str(value)
    return out


def check_period(start: datetime, end: datetime) -> None:
    if start.utcoffset() is None or end.utcoffset() is None:
        raise ValueError("period bounds must be timezone-aware")
    if end <= start:
        raise ValueError("period_end must be after period_start")


def create_event_store(settings: Settings, engine: AsyncEngine) -> EventStore:
    """PostgreSQL unless CLICKHOUSE_URL is set (chdb://[path] in-process, http(s):// server)."""
    if settings.clickhouse_url is None:
        from bxb.events.postgres_store import PostgresEventStore

        return PostgresEventStore(engine)
    from bxb.events.clickhouse_store import ClickHouseEventStore

    return ClickHouseEventStore.connect(settings.clickhouse_url)
