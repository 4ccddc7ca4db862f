"""The watcher: after ingestion commits, tell the workflows that care, coalesced.

One `UsageWatcher` per API process. The event pipeline hands it the events each group
commit stored (`observe`, called after the commit, synchronous and cheap: it only
appends to a buffer), so acknowledging events never waits on it. A background task then
finds which of those events' subscriptions care (`registry.INTERESTS`, answers cached per
subscription for `ttl` seconds, negative answers too) and sends each such subscription's
workflow the signal `usage_arrived`, at most once per `window` seconds: the first event
after a quiet spell is signalled at once, the events that follow within the window share
one more signal at its end. Never one signal per event. The process also sends at most
`max_rate` signals a second: when many subscriptions are busy, each one's window
stretches (its events keep coalescing onto its pending signal), so the API's cost stays
bounded whatever the number of subscriptions.

Signals are best-effort: a failed signal is logged and dropped (the workflow also runs
its reactions before each period close and on each test clock advance, so no fee is
lost, only later). The buffer is bounded for the same reason: past `max_pending` events
waiting for a lookup, new ones are dropped with a warning.

Cache invalidation: plans and charges changed through this process's ORM clear the cache
at once (listeners below); other changes (another API process, a subscription started or
terminated by the worker) are seen within `ttl`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import ORMExecuteState, Session
from temporalio.service import RPCError, RPCStatusCode

from bxb.core.settings import Settings
from bxb.events.postgres_failures import postgres_failures
from bxb.events.store import StoredEvent
from bxb.models import Charge, Plan, Subscription, UsageThreshold
from bxb.usage_reactions.interest import EventTest, Interest, SubscriptionKey
from bxb.workflows.subscription import workflow_id

log = logging.getLogger(__name__)

SIGNAL = "usage_arrived"
DEFAULT_WINDOW_SECONDS = 0.2
DEFAULT_TTL_SECONDS = 5.0
DEFAULT_MAX_RATE = 100.0  # signals per second and API process (0: no bound)
MAX_CACHED = 100_000
MAX_PENDING = 200_000
STOP_SECONDS = 1.0

Signal = Callable[[str], Awaitable[None]]


@dataclass
class WatcherStats:
    observed: int = 0
    dropped: int = 0
    lookups: int = 0
    signals: int = 0
    failed_signals: int = 0
    # Time from a batch's commit to the signal it caused (seconds), for the benchmark.
    latencies: list[float] = field(default_factory=list)


class UsageWatcher:
    def __init__(
        self,
        engine: AsyncEngine,
        signal: Signal,
        interests: Sequence[Interest] | None = None,
        *,
        window: float = DEFAULT_WINDOW_SECONDS,
        ttl: float = DEFAULT_TTL_SECONDS,
        max_pending: int = MAX_PENDING,
        max_rate: float = DEFAULT_MAX_RATE,
    ) -> None:
        if interests is None:
            from bxb.usage_reactions.registry import INTERESTS

            interests = INTERESTS
        self._engine = engine
        self._signal = signal
        self._interests = list(interests)
        self.window = window
        self.ttl = ttl
        self.max_rate = max_rate
        self._next_slot = 0.0
        self._max_pending = max_pending
        self._pending: list[tuple[StoredEvent, float]] = []
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._cache: dict[SubscriptionKey, tuple[tuple[EventTest, ...], float]] = {}
        self._generation = _generation
        self._last_sent: dict[SubscriptionKey, float] = {}
        self._scheduled: dict[SubscriptionKey, float] = {}  # key -> first commit it covers
        self._sends: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self.stats = WatcherStats()

    # ---- the pipeline's side ----------------------------------------------------------

    def observe(self, events: Iterable[StoredEvent]) -> None:
        """Events just committed (duplicates left out). Never blocks, never raises."""
        now = time.monotonic()
        added = 0
        for event in events:
            if len(self._pending) >= self._max_pending:
                self.stats.dropped += 1
                continue
            self._pending.append((event, now))
            added += 1
        if added:
            self.stats.observed += added
            self._idle.clear()
            self._wake.set()

    def poke(self, key: SubscriptionKey) -> None:
        """Signal this subscription as its events would (coalesced, best-effort): something
        its reactions read changed without an event (an alert created or changed)."""
        self._schedule(key, time.monotonic())

    # ---- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="usage-watcher")

    async def stop(self) -> None:
        """Signal what is pending (best-effort), then end."""
        if self._task is None:
            return
        try:  # signals due now go out; those waiting for their window are dropped
            await asyncio.wait_for(self._idle.wait(), timeout=STOP_SECONDS)
        except TimeoutError:
            log.warning("usage watcher stopped with events still to look up")
        self._task.cancel()
        for task in list(self._sends):
            task.cancel()
        await asyncio.gather(self._task, *self._sends, return_exceptions=True)
        self._task = None

    async def looked_up(self) -> None:
        """Wait until every observed event has been looked up; a signal may still wait for
        its window (flush waits for that too)."""
        await self._idle.wait()

    async def flush(self) -> None:
        """Wait until every observed event has been looked up and its signal sent."""
        while True:
            await self._idle.wait()
            if self._sends:
                await asyncio.gather(*list(self._sends), return_exceptions=True)
                continue
            if self._idle.is_set() and not self._pending:
                return

    # ---- the background task ------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._pending = self._pending, []
            try:
                await self._handle(batch)
            except Exception:  # best-effort: the workflow reacts before closing anyway
                log.exception("usage watcher could not look up %d events", len(batch))
            if not self._pending:
                self._idle.set()

    async def _handle(self, batch: list[tuple[StoredEvent, float]]) -> None:
        if not batch:
            return
        by_key: dict[SubscriptionKey, list[tuple[StoredEvent, float]]] = {}
        for entry in batch:
            event = entry[0]
            by_key.setdefault((event.organization_id, event.external_subscription_id), []).append(
                entry
            )
        tests = await self._tests(list(by_key))
        for key, entries in by_key.items():
            found = tests.get(key, ())
            matching = [at for event, at in entries if any(test(event) for test in found)]
            if matching:
                self._schedule(key, min(matching))

    async def _tests(
        self, keys: list[SubscriptionKey]
    ) -> dict[SubscriptionKey, tuple[EventTest, ...]]:
        if self._generation != _generation:
            self._cache.clear()
            self._generation = _generation
        now = time.monotonic()
        found: dict[SubscriptionKey, tuple[EventTest, ...]] = {}
        missing: list[SubscriptionKey] = []
        for key in keys:
            cached = self._cache.get(key)
            if cached is not None and cached[1] > now:
                found[key] = cached[0]
            else:
                missing.append(key)
        if missing:
            loaded = await self._load(missing)
            if len(self._cache) + len(missing) > MAX_CACHED:
                self._cache.clear()
            expires = time.monotonic() + self.ttl
            for key in missing:
                self._cache[key] = (loaded.get(key, ()), expires)
                found[key] = loaded.get(key, ())
        return found

    async def _load(
        self, keys: list[SubscriptionKey]
    ) -> dict[SubscriptionKey, tuple[EventTest, ...]]:
        self.stats.lookups += 1
        loaded: dict[SubscriptionKey, tuple[EventTest, ...]] = {}
        with postgres_failures():
            async with self._engine.connect() as conn:
                raw = (await conn.get_raw_connection()).driver_connection
                for interest in self._interests:
                    for key, test in (await interest.load(raw, keys)).items():
                        loaded[key] = (*loaded.get(key, ()), test)
        return loaded

    def _schedule(self, key: SubscriptionKey, committed_at: float) -> None:
        """One signal for key, now or when its window since the last signal ends."""
        if key in self._scheduled:
            return
        loop = asyncio.get_running_loop()
        last = self._last_sent.get(key)
        delay = 0.0 if last is None else max(0.0, last + self.window - time.monotonic())
        self._scheduled[key] = committed_at
        task = loop.create_task(self._send(key, delay))
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    async def _send(self, key: SubscriptionKey, delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        await self._pace()  # events keep coalescing onto this signal while it waits
        committed_at = self._scheduled.pop(key)
        now = time.monotonic()
        self._last_sent[key] = now
        if len(self._last_sent) > MAX_CACHED:
            self._forget_quiet(now)
        try:
            await self._signal(workflow_id(*key))
        except Exception as exc:  # best-effort
            self.stats.failed_signals += 1
            log.warning("usage signal to %s failed: %r", workflow_id(*key), exc)
            return
        self.stats.signals += 1
        if len(self.stats.latencies) < 1_000_000:
            self.stats.latencies.append(time.monotonic() - committed_at)

    async def _pace(self) -> None:
        """At most `max_rate` signals a second from this process: with many busy
        subscriptions, each one's window stretches instead of the API's CPU going to
        signals (and Temporal's to workflow tasks)."""
        if self.max_rate <= 0:
            return
        now = time.monotonic()
        at = max(now, self._next_slot)
        self._next_slot = at + 1 / self.max_rate
        if at > now:
            await asyncio.sleep(at - now)

    def _forget_quiet(self, now: float) -> None:
        self._last_sent = {k: t for k, t in self._last_sent.items() if now - t < self.window}


# Plans, charges and thresholds changed through this process's ORM: every watcher's
# cache is dropped.
_generation = 0
_CHANGED = "bxb_usage_interests_changed"


def forget_interests() -> None:
    global _generation
    _generation += 1


@sa_event.listens_for(Session, "after_flush")
def _forget_on_flush(session: Session, _: object) -> None:
    touched = itertools.chain(session.new, session.dirty, session.deleted)
    if any(isinstance(obj, Plan | Charge | Subscription | UsageThreshold) for obj in touched):
        session.info[_CHANGED] = True
        forget_interests()


@sa_event.listens_for(Session, "after_commit")
def _forget_on_commit(session: Session) -> None:
    # Again after commit: a lookup made between the flush and the commit saw the old rows.
    if session.info.pop(_CHANGED, False):
        forget_interests()


@sa_event.listens_for(Session, "do_orm_execute")
def _forget_on_bulk_change(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete) and any(
        mapper.class_ in (Plan, Charge, Subscription, UsageThreshold)
        for mapper in state.all_mappers
    ):
        state.session.info[_CHANGED] = True
        forget_interests()


def start_usage_watcher(app_state: Any, settings: Settings) -> UsageWatcher:
    """The API process's watcher, signalling through its Temporal connector; kept on
    app_state (`usage_watcher`)."""

    async def signal(target: str) -> None:
        client = await app_state.temporal.client()
        try:
            await client.get_workflow_handle(target).signal(SIGNAL)
        except RPCError as exc:
            if exc.status is not RPCStatusCode.NOT_FOUND:  # an ended workflow reacts no more
                raise

    engine: AsyncEngine = app_state.sessions.kw["bind"]
    watcher = UsageWatcher(
        engine,
        signal,
        window=settings.usage_signal_window_ms / 1000,
        ttl=settings.usage_interest_ttl_seconds,
        max_rate=settings.usage_signals_per_second,
    )
    watcher.start()
    app_state.usage_watcher = watcher
    return watcher
