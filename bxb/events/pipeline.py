"""The ingestion pipeline: metric checks and store writes, batched by group commit.

One `EventPipeline` per API process, created by the events router's lifespan
(`start_event_pipeline`) and stopped, after flushing what is pending, by
`stop_event_pipeline`. A request submits its events (one, or a batch of up to 100) as
one unit; units are never split, so a batch is all-or-nothing.

Units of all organizations share writes, but never each other's failures: a write that
fails is written again in parts (`bxb.events.group_commit.write_apart`), so only the
unit at fault gets the error, unless the store is unavailable
(`EventStoreUnavailableError`): then every unit of the write gets that at once.
"""

from __future__ import annotations

import itertools
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import ORMExecuteState, Session

from bxb.core.metrics import EVENTS_INGESTED
from bxb.core.settings import Settings
from bxb.events.group_commit import GroupCommit
from bxb.events.postgres_failures import postgres_failures
from bxb.events.store import (
    EventStore,
    InsertResult,
    NewEvent,
    StoredEvent,
    create_event_store,
    may_be_the_events_fault,
)
from bxb.events.validation import Errors, MetricRule, checked_event
from bxb.models import BillableMetric, BillableMetricFilter

MetricKey = tuple[uuid.UUID, str]
# Told, after each commit, of the events it stored (duplicates left out): must not block.
AfterCommit = Callable[[list[StoredEvent]], None]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Accepted:
    result: InsertResult


@dataclass(frozen=True, slots=True)
class Rejected:
    """Errors per index of the submitted events (only the invalid ones)."""

    errors: dict[int, Errors]


Outcome = Accepted | Rejected


_LIVE_METRICS = """
SELECT m.organization_id, m.code, m.aggregation_type, m.field_name, m.expression
FROM billable_metrics m
JOIN unnest($1::uuid[], $2::text[]) AS k(organization_id, code) USING (organization_id, code)
WHERE m.deleted_at IS NULL
"""


async def load_metrics(
    engine: AsyncEngine, keys: Iterable[MetricKey]
) -> dict[MetricKey, MetricRule]:
    """The live billable metrics for (organization_id, code) pairs, in one query.

    Straight through asyncpg: this runs once per group commit, on the hot path.
    """
    wanted = set(keys)
    with postgres_failures():
        async with engine.connect() as conn:
            raw: Any = (await conn.get_raw_connection()).driver_connection
            rows = await raw.fetch(_LIVE_METRICS, [k[0] for k in wanted], [k[1] for k in wanted])
    return {(r[0], r[1]): MetricRule(r[1], r[2], r[3], r[4]) for r in rows}


# Every group commit needs the metrics of its events. Found metrics are cached per
# process for a second, so that a flush of single events costs one round trip (the
# insert), not two. A metric that is not found is never cached: one created a moment ago
# is seen at once. A metric changed or deleted through this process's ORM is forgotten
# at once (listeners below); other processes see the change within the TTL.
METRIC_CACHE_TTL_SECONDS = 1.0
METRIC_CACHE_MAX_ENTRIES = 10_000
_live_metrics: dict[MetricKey, tuple[MetricRule, float]] = {}


async def live_metrics(
    engine: AsyncEngine, keys: Iterable[MetricKey]
) -> dict[MetricKey, MetricRule]:
    """`load_metrics` through the per-process cache."""
    now = time.monotonic()
    found: dict[MetricKey, MetricRule] = {}
    missing = []
    for key in set(keys):
        cached = _live_metrics.get(key)
        if cached is not None and cached[1] > now:
            found[key] = cached[0]
        else:
            missing.append(key)
    if missing:
        loaded = await load_metrics(engine, missing)
        if len(_live_metrics) + len(loaded) > METRIC_CACHE_MAX_ENTRIES:
            _live_metrics.clear()
        expires = time.monotonic() + METRIC_CACHE_TTL_SECONDS
        for key, rule in loaded.items():
            _live_metrics[key] = (rule, expires)
        found.update(loaded)
    return found


def forget_metrics() -> None:
    _live_metrics.clear()


_CHANGED = "bxb_billable_metrics_changed"


@sa_event.listens_for(Session, "after_flush")
def _forget_flushed_metrics(session: Session, _: object) -> None:
    touched = itertools.chain(session.new, session.dirty, session.deleted)
    if any(isinstance(obj, BillableMetric | BillableMetricFilter) for obj in touched):
        session.info[_CHANGED] = True
        forget_metrics()


@sa_event.listens_for(Session, "after_commit")
def _forget_committed_metrics(session: Session) -> None:
    # Again after commit: a flush made between the first clear and the commit could
    # have cached the row as it was before.
    if session.info.pop(_CHANGED, False):
        forget_metrics()


@sa_event.listens_for(Session, "do_orm_execute")
def _forget_bulk_changed_metrics(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete) and any(
        mapper.class_ is BillableMetric for mapper in state.all_mappers
    ):
        state.session.info[_CHANGED] = True
        forget_metrics()


class EventPipeline:
    def __init__(
        self,
        store: EventStore,
        engine: AsyncEngine,
        *,
        max_batch: int = 2000,
        max_wait: float = 0.001,
        workers: int | None = None,
        after_commit: AfterCommit | None = None,
    ) -> None:
        self.store = store
        self._engine = engine
        # The usage watcher (bxb.usage_reactions.watcher), when the API wires one.
        self.after_commit = after_commit
        self.group_commit: GroupCommit[Sequence[NewEvent], Outcome] = GroupCommit(
            self._write,
            size_of=len,
            max_batch=max_batch,
            max_wait=max_wait,
            workers=store.concurrent_writes if workers is None else workers,
            divisible=may_be_the_events_fault,
        )

    async def ingest(self, events: Sequence[NewEvent]) -> Outcome:
        """Check and store events as one unit, batched with concurrent callers."""
        return await self.group_commit.submit(events)

    async def check(self, events: Sequence[NewEvent]) -> dict[int, Errors]:
        """Metric errors per index, without writing anything."""
        metrics = await live_metrics(self._engine, ((e.organization_id, e.code) for e in events))
        return _checked(events, metrics)[1]

    async def _write(self, units: list[Sequence[NewEvent]]) -> list[Outcome]:
        metrics = await live_metrics(
            self._engine, ((e.organization_id, e.code) for unit in units for e in unit)
        )
        outcomes: list[Outcome | None] = []
        valid: list[NewEvent] = []
        for unit in units:
            checked, errors = _checked(unit, metrics)
            if errors:
                outcomes.append(Rejected(errors))
            else:
                outcomes.append(None)
                valid.extend(checked)
        result = await self.store.insert_many(valid) if valid else InsertResult([], [])
        EVENTS_INGESTED.inc(result.inserted)  # committed: the store answered
        if self.after_commit is not None and result.inserted:
            try:
                self.after_commit(
                    [e for e, new in zip(result.events, result.created, strict=True) if new]
                )
            except Exception:  # never the events' problem: they are stored
                log.exception("after_commit failed")
        done: list[Outcome] = []
        offset = 0
        for unit, outcome in zip(units, outcomes, strict=True):
            if outcome is None:
                part = slice(offset, offset + len(unit))
                outcome = Accepted(InsertResult(result.events[part], result.created[part]))
                offset += len(unit)
            done.append(outcome)
        return done

    def start(self) -> None:
        self.group_commit.start()

    async def stop(self) -> None:
        try:
            await self.group_commit.stop()
        finally:
            await self.store.close()


def _checked(
    events: Sequence[NewEvent], metrics: dict[MetricKey, MetricRule]
) -> tuple[list[NewEvent], dict[int, Errors]]:
    """The events as they will be stored (expressions computed), and errors by index."""
    checked: list[NewEvent] = []
    errors = {}
    for index, event in enumerate(events):
        found = checked_event(event, metrics.get((event.organization_id, event.code)))
        if isinstance(found, NewEvent):
            checked.append(found)
        else:
            errors[index] = found
    return checked, errors


def engine_of(sessions: async_sessionmaker[AsyncSession]) -> AsyncEngine:
    engine: AsyncEngine = sessions.kw["bind"]
    return engine


async def start_event_pipeline(
    app_state: Any, settings: Settings, after_commit: AfterCommit | None = None
) -> EventPipeline:
    """Create the store named by settings and start group commit; kept on app_state."""
    engine = engine_of(app_state.sessions)
    pipeline = EventPipeline(
        create_event_store(settings, engine), engine, after_commit=after_commit
    )
    pipeline.start()
    app_state.event_pipeline = pipeline
    return pipeline


async def stop_event_pipeline(app_state: Any) -> None:
    """Flush pending events, then close the store."""
    pipeline: EventPipeline | None = getattr(app_state, "event_pipeline", None)
    if pipeline is not None:
        await pipeline.stop()
        app_state.event_pipeline = None
