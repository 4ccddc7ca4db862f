"""/api/v1/events (Lago-compatible): ingest usage events, read them back.

Ingestion skips FastAPI's body models on purpose: this is the hot path, and the
validator in `bxb.events.validation` checks Lago's shape by hand and reports every field
at once. Events are written through the process's group commit (see
`bxb.events.pipeline`), and acknowledged only once committed. A write failure reaches
only the request at fault: 422 if the store refused its values, 503 if the store is
unavailable (or the pipeline stopping), else the generic 500.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request

from bxb.api.deps import OrganizationIdDep, authenticates_inline, current_organization_id
from bxb.api.errors import ApiError, not_found, validation_error
from bxb.api.list_filters import parse_filters
from bxb.api.pagination import PageDep, meta_for
from bxb.api.responses import JsonResponse
from bxb.core import fast_json
from bxb.core.test_clock_times import ClockTimes
from bxb.events.group_commit import PipelineStoppedError
from bxb.events.pipeline import (
    EventPipeline,
    Outcome,
    Rejected,
    start_event_pipeline,
    stop_event_pipeline,
)
from bxb.events.store import (
    EventsRefusedError,
    EventStoreUnavailableError,
    NewEvent,
)
from bxb.events.validation import Errors, parse_event
from bxb.inputs.bounds import Instant
from bxb.lago_objects.events import event_object, event_objects
from bxb.listings.events import EventListFilters
from bxb.models.base import utcnow
from bxb.usage_reactions.watcher import start_usage_watcher

MAX_BATCH_EVENTS = 100  # Lago's limit per /events/batch call

log = logging.getLogger(__name__)


@asynccontextmanager
async def event_pipeline_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Runs inside the application's lifespan (FastAPI merges router lifespans)."""
    watcher = start_usage_watcher(app.state, app.state.settings)
    await start_event_pipeline(app.state, app.state.settings, after_commit=watcher.observe)
    try:
        yield
    finally:
        await stop_event_pipeline(app.state)
        await watcher.stop()


router = APIRouter(prefix="/api/v1", tags=["events"], lifespan=event_pipeline_lifespan)

_EVENT_INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["transaction_id", "external_subscription_id", "code"],
    "properties": {
        "transaction_id": {"type": "string"},
        "external_subscription_id": {"type": "string"},
        "code": {"type": "string"},
        "timestamp": {"type": ["integer", "number", "string", "null"]},
        "properties": {"type": ["object", "null"]},
        "precise_total_amount_cents": {"type": ["string", "number", "null"]},
    },
}


def _body(root: str, schema: dict[str, Any]) -> dict[str, Any]:
    content = {"schema": {"type": "object", "required": [root], "properties": {root: schema}}}
    return {"requestBody": {"required": True, "content": {"application/json": content}}}


def _pipeline(request: Request) -> EventPipeline:
    pipeline: EventPipeline | None = getattr(request.app.state, "event_pipeline", None)
    if pipeline is None:  # shutting down
        raise ApiError(503, code="service_unavailable")
    return pipeline


@contextmanager
def _store_failures(refused_field: str) -> Iterator[None]:
    """The store's typed failures as answers; refused_field names the request's events."""
    try:
        yield
    except (EventStoreUnavailableError, PipelineStoppedError) as exc:
        log.warning("event store unavailable: %s", exc)
        raise ApiError(503, code="service_unavailable") from exc
    except EventsRefusedError as exc:
        log.warning("event store refused a request's events: %s", exc)
        raise validation_error({refused_field: ["value_is_invalid"]}) from exc


async def _ingest(request: Request, events: Sequence[NewEvent], refused_field: str) -> Outcome:
    with _store_failures(refused_field):
        return await _pipeline(request).ingest(events)


async def _json_body(request: Request) -> Any:
    try:
        return fast_json.loads(await request.body())
    except ValueError as exc:  # JSONDecodeError and bad UTF-8 are ValueErrors
        raise ApiError(400, error="Bad Request", code="invalid_json") from exc


def _root(payload: Any, key: str) -> Any:
    if not isinstance(payload, dict) or payload.get(key) is None:
        raise validation_error({key: ["value_is_mandatory"]})
    return payload[key]


def _rejected(errors: Mapping[str, Any]) -> ApiError:
    return ApiError(
        422, code="validation_errors", error="Unprocessable Entity", error_details=errors
    )


async def _parse(
    clocks: ClockTimes, payload: Any, organization_id: uuid.UUID, received_at: datetime
) -> NewEvent | Errors:
    """Parse an event; "now" is the customer's test clock time when it is on one.

    An event of a test-clock customer without a timestamp takes the clock's time, and one
    whose timestamp is more than 24 h past the wall clock is checked against the clock's
    time instead (a clock ahead of the wall clock). The clock is looked up only then, so
    ordinary events never pay for the lookup; a batch looks each subscription up once.
    An event within 24 h of the wall clock is accepted even when the clock is behind:
    sending a period's usage before advancing the clock through it is how rehearsals go.
    """
    parsed = parse_event(payload, organization_id, received_at)
    if not _needs_clock(payload, parsed):
        return parsed
    return await _parse_on_clock(clocks, payload, organization_id, parsed)


def _needs_clock(payload: Any, parsed: NewEvent | Errors) -> bool:
    """Whether the event's subscription's test clock may change how it parses."""
    if not isinstance(payload, dict) or not isinstance(
        payload.get("external_subscription_id"), str
    ):
        return False
    return payload.get("timestamp") is None or (
        not isinstance(parsed, NewEvent) and "timestamp" in parsed
    )


async def _parse_on_clock(
    clocks: ClockTimes,
    payload: dict[str, Any],
    organization_id: uuid.UUID,
    parsed: NewEvent | Errors,
) -> NewEvent | Errors:
    clock_time = await clocks.of(payload["external_subscription_id"])
    if clock_time is None:
        return parsed
    return parse_event(payload, organization_id, clock_time)


# The two ingestion routes take only the request and authenticate themselves: FastAPI's
# dependency resolution is a measurable share of a single event's cost.


@router.post("/events", openapi_extra=_body("event", _EVENT_INPUT_SCHEMA))
@authenticates_inline
async def create_event(request: Request) -> JsonResponse:
    organization_id = await current_organization_id(request)
    payload = _root(await _json_body(request), "event")
    clocks = ClockTimes(request.app.state.sessions, organization_id)
    parsed = await _parse(clocks, payload, organization_id, utcnow())
    if not isinstance(parsed, NewEvent):
        raise _rejected(parsed)
    outcome = await _ingest(request, [parsed], "event")
    if isinstance(outcome, Rejected):
        raise _rejected(outcome.errors[0])
    return JsonResponse({"event": event_object(outcome.result.events[0])})


@router.post(
    "/events/batch",
    openapi_extra=_body("events", {"type": "array", "items": _EVENT_INPUT_SCHEMA}),
)
@authenticates_inline
async def create_batch_events(request: Request) -> JsonResponse:
    """All or nothing: one invalid event rejects the batch, with errors keyed by index."""
    organization_id = await current_organization_id(request)
    payloads = _root(await _json_body(request), "events")
    if not isinstance(payloads, list):
        raise validation_error({"events": ["invalid_type"]})
    if not payloads:
        raise validation_error({"events": ["value_is_mandatory"]})
    if len(payloads) > MAX_BATCH_EVENTS:
        raise validation_error({"events": ["too_many_events"]})
    received_at = utcnow()
    clocks = ClockTimes(request.app.state.sessions, organization_id)
    events: list[NewEvent] = []
    positions: list[int] = []
    errors: dict[int, Any] = {}
    for index, payload in enumerate(payloads):
        # Not through _parse: an await per event is a measurable share of a batch's cost.
        parsed = parse_event(payload, organization_id, received_at)
        if _needs_clock(payload, parsed):
            parsed = await _parse_on_clock(clocks, payload, organization_id, parsed)
        if isinstance(parsed, NewEvent):
            events.append(parsed)
            positions.append(index)
        else:
            errors[index] = parsed
    pipeline = _pipeline(request)
    if errors:
        # Report metric errors of the well-formed events too, so one round trip shows all.
        with _store_failures("events"):
            checked = await pipeline.check(events)
        for index, found in checked.items():
            errors[positions[index]] = found
        raise _rejected({str(index): errors[index] for index in sorted(errors)})
    outcome = await _ingest(request, events, "events")
    if isinstance(outcome, Rejected):
        raise _rejected({str(index): found for index, found in outcome.errors.items()})
    return JsonResponse({"events": event_objects(outcome.result.events)})


@router.get("/events/{transaction_id}")
async def get_event(
    request: Request, transaction_id: str, organization_id: OrganizationIdDep
) -> JsonResponse:
    event = await _pipeline(request).store.get(organization_id, transaction_id)
    if event is None:
        raise not_found("event")
    return JsonResponse({"event": event_object(event)})


@router.get("/events")
async def list_events(
    request: Request,
    organization_id: OrganizationIdDep,
    page: PageDep,
    external_subscription_id: Annotated[str | None, Query()] = None,
    code: Annotated[str | None, Query()] = None,
    timestamp_from: Annotated[Instant | None, Query()] = None,
    timestamp_to: Annotated[Instant | None, Query()] = None,
) -> JsonResponse:
    """Newest first; timestamp_from and timestamp_to are both inclusive."""
    filters = parse_filters(
        EventListFilters,
        {
            "external_subscription_id": external_subscription_id,
            "code": code,
            "timestamp_from": timestamp_from,
            "timestamp_to": timestamp_to,
        },
    )
    events, total = await _pipeline(request).store.list_events(
        organization_id, filters.for_store(), offset=page.offset, limit=page.per_page
    )
    return JsonResponse(
        {
            "events": [event_object(e) for e in events],
            "meta": meta_for(page, total).model_dump(),
        }
    )
