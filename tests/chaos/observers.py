"""What a chaos run watches while it breaks things: billing progress and the API's answers.

- `ProgressMonitor` samples, every quarter second, how many invoices exist and how many
  payments succeeded (one unit each): the timeline recovery times are read from.
- `ApiPoller` calls a few endpoints in a loop, as a client would, and records every answer
  (or connection failure) with when it was sent and answered, so that each can be judged
  against what was down at the time. It also sends usage events, whose acknowledgement
  promises they are stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.models import Invoice, Payment

SAMPLE_SECONDS = 0.25
POLL_PAUSE_SECONDS = 0.25
REQUEST_TIMEOUT_SECONDS = 15.0
# Progress counts as resumed once no pause in it is longer than this until the window ends.
RESUMED_GAP_SECONDS = 5.0
MAX_FAILURES = 5000


@dataclass
class ProgressMonitor:
    sessions: async_sessionmaker[AsyncSession]
    organization_id: uuid.UUID
    timeline: list[tuple[float, int]] = field(default_factory=list)
    invoices: int = 0

    @property
    def units(self) -> int:
        return self.timeline[-1][1] if self.timeline else 0

    async def sample(self) -> int | None:
        try:
            async with self.sessions() as session:
                invoices = select(func.count()).where(
                    Invoice.organization_id == self.organization_id
                )
                paid = select(func.count()).where(
                    Payment.organization_id == self.organization_id,
                    Payment.status == "succeeded",
                )
                row = (
                    await session.execute(
                        select(invoices.scalar_subquery(), paid.scalar_subquery())
                    )
                ).one()
        except (OperationalError, DBAPIError, OSError):
            return None  # PostgreSQL is down: no sample
        self.invoices = int(row[0])
        units = self.invoices + int(row[1])
        self.timeline.append((time.monotonic(), units))
        return units

    async def run(self) -> None:
        while True:
            await self.sample()
            await asyncio.sleep(SAMPLE_SECONDS)

    async def reached(self, units: int) -> None:
        while self.units < units:  # noqa: ASYNC110 - the run task samples meanwhile
            await asyncio.sleep(SAMPLE_SECONDS / 2)

    async def invoiced(self, invoices: int) -> None:
        while self.invoices < invoices:  # noqa: ASYNC110 - the run task samples meanwhile
            await asyncio.sleep(SAMPLE_SECONDS / 2)

    def time_of(self, units: int) -> float:
        """When the timeline first reached units."""
        return next(t for t, done in self.timeline if done >= units)

    def per_second(self, start: float, end: float) -> list[int]:
        """Units done at each whole second from start to end (for the record)."""
        marks: list[int] = []
        samples = iter(self.timeline)
        units = 0
        sample = next(samples, None)
        for second in range(int(end - start) + 2):
            while sample is not None and sample[0] <= start + second:
                units = sample[1]
                sample = next(samples, None)
            marks.append(units)
        return marks

    def recovery(self, killed_at: float, ready_at: float, window_end: float) -> dict[str, float]:
        """How billing went on after a kill, within [killed_at, window_end], the replacement
        worker polling from ready_at:

        - first_progress_s: from the kill to the first new invoice or payment;
        - recovery_s: from the kill until progress resumed for good (no pause over
          RESUMED_GAP_SECONDS from then to the window's end);
        - after_restart_s: the same, counted from the replacement's start instead (what
          bxb takes, once a worker is there, to take the dead one's work over);
        - longest_pause_s: the longest time without progress in the window.
        """
        rises = [
            t
            for (_, before), (t, after) in itertools.pairwise(self.timeline)
            if after > before and killed_at < t <= window_end
        ]
        marks = [killed_at, *rises, window_end]
        # pauses[i] ends at rises[i]; the last one runs from the last rise to window_end.
        pauses = [b - a for a, b in itertools.pairwise(marks)]
        if not rises or pauses[-1] > RESUMED_GAP_SECONDS:
            resumed = window_end
        else:
            steady = len(rises) - 1
            while steady > 0 and pauses[steady] <= RESUMED_GAP_SECONDS:
                steady -= 1
            resumed = rises[steady]
        return {
            "first_progress_s": round((rises[0] if rises else window_end) - killed_at, 2),
            "recovery_s": round(resumed - killed_at, 2),
            "after_restart_s": round(max(0.0, resumed - ready_at), 2),
            "longest_pause_s": round(max(pauses), 2),
        }


@dataclass(frozen=True)
class Answer:
    endpoint: str
    phase: str
    sent: float
    answered: float
    status: str  # the HTTP status, or the name of the error that prevented an answer


@dataclass
class ApiPoller:
    """Calls GET endpoints (reads of the ledger) and POST /events in turn, until stopped."""

    api_url: str
    headers: dict[str, str]
    gets: list[str]
    metric_code: str
    subscription: str
    phase: str = "setup"
    answers: list[Answer] = field(default_factory=list)
    acknowledged_events: list[str] = field(default_factory=list)
    # Answers that were not answers (5xx, broken connections), with when they were sent.
    failures: list[tuple[float, float, str]] = field(default_factory=list)

    async def run(self) -> None:
        async with httpx.AsyncClient(
            base_url=self.api_url, headers=self.headers, timeout=REQUEST_TIMEOUT_SECONDS
        ) as client:
            for n in itertools.count():
                for path in self.gets:
                    await self._call(client, "GET", path, None)
                transaction_id = f"chaos-{n}"
                event = {
                    "transaction_id": transaction_id,
                    "external_subscription_id": self.subscription,
                    "code": self.metric_code,
                    "properties": {},
                }
                if await self._call(client, "POST", "/api/v1/events", {"event": event}) == 200:
                    self.acknowledged_events.append(transaction_id)
                await asyncio.sleep(POLL_PAUSE_SECONDS)

    async def _call(
        self, client: httpx.AsyncClient, method: str, path: str, body: Any
    ) -> int | None:
        phase, sent = self.phase, time.monotonic()
        code: int | None = None
        detail = ""
        try:
            response = await client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            status, detail = type(exc).__name__, str(exc)
        else:
            code, status = response.status_code, str(response.status_code)
            detail = response.text if code >= 500 else ""
        if detail and len(self.failures) < MAX_FAILURES:
            what = f"{method} {path} {status} {detail[:200]}"
            self.failures.append((sent, time.monotonic(), what))
        endpoint = f"{method} {path.split('?')[0]}"
        self.answers.append(Answer(endpoint, phase, sent, time.monotonic(), status))
        return code

    def tally(
        self, label: Callable[[Answer], str], phase: str
    ) -> dict[str, dict[str, dict[str, int]]]:
        """The answers of a phase as {label: {endpoint: {status: count}}}, label(answer)
        saying what was down meanwhile."""
        counts: dict[str, Counter[tuple[str, str]]] = {}
        for answer in self.answers:
            if answer.phase != phase:
                continue
            counts.setdefault(label(answer), Counter())[(answer.endpoint, answer.status)] += 1
        table: dict[str, dict[str, dict[str, int]]] = {}
        for phase, counter in counts.items():
            for (endpoint, status), count in sorted(counter.items()):
                table.setdefault(phase, {}).setdefault(endpoint, {})[status] = count
        return table


@contextlib.asynccontextmanager
async def running(*coroutines: Any) -> Any:
    """Run background loops for the duration of the block."""
    tasks = [asyncio.create_task(c) for c in coroutines]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
