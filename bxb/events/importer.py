"""Bulk import: NDJSON files of Lago events, streamed into the event store in batches.

Each line is one Lago event object (``{"transaction_id", ...}``, or wrapped as
``{"event": {...}}``). Lines are validated exactly like the API's; an invalid line is
rejected on its own (reported with its line number) and never stops the import. Valid
events are written ``batch_size`` at a time, idempotently, so a re-run after a crash
or of the same file inserts nothing twice.

A batch write that fails is written again in parts, down to single lines
(`bxb.events.group_commit.write_apart`): a line the store still refuses is rejected
(``{"event": ["value_is_invalid"]}``, or ``write_failed`` for any other error), and the
other lines are stored. Only an unavailable store stops the import (a re-run resumes it).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from bxb.events.group_commit import write_apart
from bxb.events.pipeline import load_metrics
from bxb.events.store import (
    EventsRefusedError,
    EventStore,
    EventStoreUnavailableError,
    NewEvent,
    may_be_the_events_fault,
)
from bxb.events.validation import Errors, checked_event, parse_event
from bxb.models.base import utcnow

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 5000
MAX_REJECTIONS_KEPT = 1000


@dataclass
class ImportSummary:
    lines: int = 0
    inserted: int = 0
    duplicates: int = 0
    rejected: int = 0
    # (line number, field → error codes), the first MAX_REJECTIONS_KEPT only.
    rejections: list[tuple[int, dict[str, list[str]]]] = field(default_factory=list)

    def reject(self, line: int, errors: dict[str, list[str]]) -> None:
        self.rejected += 1
        if len(self.rejections) < MAX_REJECTIONS_KEPT:
            self.rejections.append((line, errors))

    def describe(self) -> str:
        return (
            f"{self.lines:,} lines: {self.inserted:,} inserted, "
            f"{self.duplicates:,} duplicates, {self.rejected:,} rejected"
        )


Progress = Callable[[ImportSummary], None]


async def import_events(
    store: EventStore,
    engine: AsyncEngine,
    organization_id: uuid.UUID,
    lines: Iterable[bytes | str],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
) -> ImportSummary:
    summary = ImportSummary()
    pending: list[tuple[int, NewEvent]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        summary.lines += 1
        parsed = _parse_line(line, organization_id)
        if isinstance(parsed, NewEvent):
            pending.append((number, parsed))
        else:
            summary.reject(number, parsed)
        if len(pending) >= batch_size:
            await _write(store, engine, pending, summary)
            pending = []
            if progress is not None:
                progress(summary)
    if pending:
        await _write(store, engine, pending, summary)
    if progress is not None:
        progress(summary)
    return summary


def _parse_line(line: bytes | str, organization_id: uuid.UUID) -> NewEvent | Errors:
    try:
        payload = json.loads(line, parse_constant=_reject_constant)
    except (ValueError, RecursionError):  # RecursionError: nested too deep to decode
        return {"line": ["invalid_json"]}
    if isinstance(payload, dict) and isinstance(payload.get("event"), dict):
        payload = payload["event"]
    return parse_event(payload, organization_id, utcnow())


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


async def _write(
    store: EventStore,
    engine: AsyncEngine,
    pending: list[tuple[int, NewEvent]],
    summary: ImportSummary,
) -> None:
    metrics = await load_metrics(engine, ((e.organization_id, e.code) for _, e in pending))
    valid: list[tuple[int, NewEvent]] = []
    for number, event in pending:
        checked = checked_event(event, metrics.get((event.organization_id, event.code)))
        if isinstance(checked, NewEvent):
            valid.append((number, checked))
        else:
            summary.reject(number, checked)
    if not valid:
        return

    async def created(events: list[NewEvent]) -> list[bool]:
        return (await store.insert_many(events)).created

    outcomes = await write_apart(
        created,
        [event for _, event in valid],
        divisible=may_be_the_events_fault,
    )
    for (number, _), outcome in zip(valid, outcomes, strict=True):
        if isinstance(outcome, EventStoreUnavailableError):
            raise outcome
        if isinstance(outcome, EventsRefusedError):
            summary.reject(number, {"event": ["value_is_invalid"]})
        elif isinstance(outcome, Exception):
            log.error("line %d: the store failed to write it: %r", number, outcome)
            summary.reject(number, {"event": ["write_failed"]})
        elif outcome:
            summary.inserted += 1
        else:
            summary.duplicates += 1


class ProgressLine:
    """Plain-text progress on a stream (stderr): one line per batch, with the rate."""

    def __init__(self, write: Callable[[str], object]) -> None:
        self._write = write
        self._started = time.monotonic()

    def __call__(self, summary: ImportSummary) -> None:
        elapsed = max(time.monotonic() - self._started, 1e-9)
        self._write(
            f"events import: {summary.describe()} ({summary.lines / elapsed:,.0f} lines/s)\n"
        )
