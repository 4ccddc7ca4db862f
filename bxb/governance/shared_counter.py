"""Request counts shared by every API process, kept in PostgreSQL, cheap on the hot path.

Each process counts locally per (key, route class, window) and adds its counts to one
shared row per window (`rate_limit_counters`) with an UPSERT ... RETURNING that also
brings back everybody's total. A request is decided locally, against the last known
total plus the requests this process has admitted since, as long as that leaves more
than `batch` requests of headroom and fewer than `batch` requests are pending here; then
it costs no I/O at all. When the background sync lags (`batch` requests pending), the
requests that find it so wait for one sync of them all, then decide locally again. Near
the limit a request adds itself to the shared row before it is answered, which makes the
decision exact among the processes in that mode.

Overshoot: the requests of a process that the others have not seen are its pending ones
(fewer than `batch`, or the request goes to PostgreSQL itself) and those of its one
background sync in flight (at most `batch`). So with P processes the requests admitted
in one window are at most limit + 2 × (P - 1) × batch, with batch = 0.5% of the limit
(at least 1, at most 1,000): 1% over the limit per other process (give or take the
requests in flight to PostgreSQL at that moment, each decided on the exact total).

The limiter never refuses because it cannot count: if PostgreSQL is out of reach the
request is admitted and the counts are kept for the next sync.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
import uuid
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.models import RateLimitCounter

log = logging.getLogger(__name__)

WindowKey = tuple[uuid.UUID, str, int]  # key id, route class, window end (epoch seconds)

PURGE_EVERY_SECONDS = 60.0


@dataclass(frozen=True)
class Limit:
    limit: int
    period: int  # seconds per fixed window


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # whole seconds until the window ends (at least 1)


# What `hit_locally` answers for a request admitted without I/O (no figures: nothing
# reads them on success).
ADMITTED = Decision(True, 0, 0, 0)


def batch_size(limit: int) -> int:
    """How many requests a process admits before it sends them to the others."""
    return max(1, min(limit // 200, 1000))


class _Window:
    __slots__ = ("direct", "known", "pending", "sending")

    def __init__(self) -> None:
        self.known = 0  # the shared total at our last exchange (our synced requests included)
        self.pending = 0  # admitted here, not yet sent
        self.sending = 0  # sent, not yet acknowledged
        self.direct = 0  # requests adding themselves to the shared row right now


class SharedCounter:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], sync_seconds: float) -> None:
        self._sessions = sessions
        self._sync_seconds = sync_seconds
        self._windows: dict[WindowKey, _Window] = {}
        self._wake = asyncio.Event()
        self._syncing = asyncio.Lock()  # one exchange of pending counts at a time
        self._task: asyncio.Task[None] | None = None
        self._next_purge = time.monotonic() + random.uniform(0, PURGE_EVERY_SECONDS)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="rate-limit-sync")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.sync()

    def hit_locally(
        self, key_id: uuid.UUID, route_class: str, limit: Limit, now: float
    ) -> Decision | None:
        """ADMITTED or a refusal, decided without I/O; None: ask `hit_exactly`.

        Plain (not async) because it is on every request's path.
        """
        window_end = (int(now) // limit.period + 1) * limit.period
        key = (key_id, route_class, window_end)
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = _Window()
        if window.known >= limit.limit:  # counts never go down within a window
            return Decision(False, limit.limit, 0, max(1, math.ceil(window_end - now)))
        batch = batch_size(limit.limit)
        # While requests add themselves to the shared row, the next ones do too: admitting
        # locally meanwhile would rest on a total they are about to change. A background
        # sync in flight (at most one, at most `batch`) does not stop local decisions.
        if (
            window.pending < batch
            and not window.direct
            and limit.limit - window.known - window.pending - window.sending > batch
        ):
            window.pending += 1
            if window.pending >= batch:
                self._wake.set()
            return ADMITTED
        return None

    async def hit_exactly(
        self, key_id: uuid.UUID, route_class: str, limit: Limit, now: float
    ) -> Decision:
        """Add the request to the shared row and decide on the total that comes back."""
        window_end = (int(now) // limit.period + 1) * limit.period
        key = (key_id, route_class, window_end)
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = _Window()
        batch = batch_size(limit.limit)
        while (
            window.pending >= batch
            and not window.direct
            and limit.limit - window.known - window.pending - window.sending > batch
        ):
            # Only the sync lagged. Adding each request to the shared row instead (as
            # near the limit) would queue every request on that row's lock, and under
            # steady concurrency they would keep doing so (4x slower ingestion). While
            # one sync is in flight, the others may fill `batch` again: then sync again.
            if not await self._sync_lagging(window, batch):
                break  # PostgreSQL out of reach: decided below
            decision = self.hit_locally(key_id, route_class, limit, now)
            if decision is not None:
                return decision
        if self._syncing.locked():
            # A sync in flight may carry requests admitted here before this one: adding
            # ours first would return a total without them, and admit one too many.
            async with self._syncing:
                pass
        reset = max(1, math.ceil(window_end - now))
        total = await self._add_now(key, window)
        if total is None:  # PostgreSQL out of reach: admit, count it later
            return Decision(True, limit.limit, 0, reset)
        return Decision(total <= limit.limit, limit.limit, max(0, limit.limit - total), reset)

    async def hit(self, key_id: uuid.UUID, route_class: str, limit: Limit, now: float) -> Decision:
        decision = self.hit_locally(key_id, route_class, limit, now)
        if decision is None:
            decision = await self.hit_exactly(key_id, route_class, limit, now)
        return decision

    async def _add_now(self, key: WindowKey, window: _Window) -> int | None:
        """Add this request (and the window's pending ones) to the shared row."""
        sent = window.pending + 1
        window.pending = 0
        window.sending += sent
        window.direct += 1
        try:
            totals = await self._upsert({key: sent})
        except Exception as exc:
            window.pending += sent
            log.warning("rate limit counters unavailable: %r", exc)
            return None
        finally:
            window.sending -= sent
            window.direct -= 1
        total = totals[key]
        window.known = max(window.known, total)
        return total

    async def _sync_lagging(self, window: _Window, batch: int) -> bool:
        """One sync for every request that found `batch` pending (the first one sends);
        False when PostgreSQL is out of reach."""
        async with self._syncing:
            return window.pending < batch or await self._sync_all()

    async def sync(self) -> None:
        """Send every pending count; learn everybody's totals."""
        async with self._syncing:
            await self._sync_all()

    async def _sync_all(self) -> bool:
        batch: dict[WindowKey, int] = {}
        for key, window in self._windows.items():
            if window.pending:
                batch[key] = window.pending
                window.sending += window.pending
                window.pending = 0
        if not batch:
            return True
        try:
            totals = await self._upsert(batch)
        except Exception as exc:
            log.warning("rate limit counters unavailable: %r", exc)
            for key, sent in batch.items():
                window = self._windows[key]
                window.sending -= sent
                window.pending += sent
            return False
        for key, sent in batch.items():
            window = self._windows[key]
            window.sending -= sent
            window.known = max(window.known, totals[key])
        return True

    async def _upsert(self, counts: dict[WindowKey, int]) -> dict[WindowKey, int]:
        # Sorted, so that two processes lock the same rows in the same order.
        rows = [
            {"key_id": k[0], "route_class": k[1], "window_end": k[2], "count": n}
            for k, n in sorted(counts.items())
        ]
        values = insert(RateLimitCounter).values(rows)
        statement = values.on_conflict_do_update(
            index_elements=["key_id", "route_class", "window_end"],
            set_={"count": RateLimitCounter.count + values.excluded["count"]},
        ).returning(
            RateLimitCounter.key_id,
            RateLimitCounter.route_class,
            RateLimitCounter.window_end,
            RateLimitCounter.count,
        )
        async with self._sessions() as session:
            result = await session.execute(statement)
            totals = {(r[0], r[1], r[2]): int(r[3]) for r in result}
            await session.commit()
        return totals

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._sync_seconds)
            self._wake.clear()
            await self.sync()
            self._forget_past_windows()
            if time.monotonic() >= self._next_purge:
                self._next_purge = time.monotonic() + PURGE_EVERY_SECONDS
                await self._purge()

    def _forget_past_windows(self) -> None:
        now = time.time()
        for key in [k for k, w in self._windows.items() if k[2] < now and not w.pending]:
            if not self._windows[key].sending:
                del self._windows[key]

    async def _purge(self) -> None:
        """Shared rows of windows that ended more than a minute ago."""
        try:
            async with self._sessions() as session:
                cutoff = int(time.time()) - 60
                await session.execute(
                    delete(RateLimitCounter).where(RateLimitCounter.window_end < cutoff)
                )
                await session.commit()
        except Exception as exc:
            log.warning("rate limit counters not purged: %r", exc)
