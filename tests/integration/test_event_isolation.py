"""One organization's events never fail another's: the cross-tenant poison tests.

Organizations share group-commit writes. Events a store cannot hold are refused at
validation (422); an unforeseen write failure is written again in parts, so only the
request at fault gets the error; an unavailable store answers 503 after one attempt.
Everything runs through the real app, pipeline and stores (embedded PostgreSQL, chDB).
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bxb.api import input_rules
from bxb.api.app import create_app
from bxb.core.db import create_engine
from bxb.core.settings import Settings
from bxb.events import validation
from bxb.events.clickhouse_store import ClickHouseEventStore
from bxb.events.pipeline import EventPipeline, engine_of, stop_event_pipeline
from bxb.events.postgres_store import PostgresEventStore
from bxb.events.store import EventFilters, EventStore, InsertResult, NewEvent
from bxb.models import Event
from tests.conftest import app_client
from tests.integration.test_event_stores import CHDB_URL
from tests.integration.test_events import add_metric
from tests.support.auth import Tenant
from tests.support.ports import free_port

TS = 1_735_732_800
LINGER = 0.02  # long enough for concurrent requests to share writes

# Strings PostgreSQL cannot store, in each place an event holds one.
POISONS: list[dict[str, Any]] = [
    {"properties": {"note": "a\x00b"}},
    {"properties": {"\ud800": 1}},
    {"properties": {"note": "x\udc00"}},
    {"transaction_id": "b-nul-\x00"},
    {"external_subscription_id": "sub-\ud83d"},
]


def event(transaction_id: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "transaction_id": transaction_id,
        "external_subscription_id": "sub-1",
        "code": "api_calls",
        "timestamp": TS,
        "properties": {"region": "eu"},
    }
    return body | overrides


def poisoned(transaction_id: str, n: int) -> dict[str, Any]:
    poison = POISONS[n % len(POISONS)]
    if "transaction_id" in poison:
        return event(f"{transaction_id}-\x00")
    return event(transaction_id, **poison)


async def post(
    client: httpx.AsyncClient, tenant: Tenant, path: str, body: dict[str, Any]
) -> httpx.Response:
    # json.dumps escapes NUL and lone surrogates (\u0000, \ud800), as any JSON client does.
    return await client.post(
        path,
        content=json.dumps(body).encode(),
        headers={**tenant.headers, "content-type": "application/json"},
    )


async def stored_ids(sessions: async_sessionmaker[AsyncSession], tenant: Tenant) -> set[str]:
    async with sessions() as session:
        rows = await session.scalars(
            select(Event.transaction_id).where(Event.organization_id == tenant.organization_id)
        )
        return set(rows)


@dataclass
class WriteLog:
    """The real store, recording which organizations each write held and how it ended."""

    store: EventStore
    writes: list[tuple[frozenset[uuid.UUID], bool]] = field(default_factory=list)

    async def insert_many(self, events: Sequence[NewEvent]) -> InsertResult:
        organizations = frozenset(e.organization_id for e in events)
        try:
            result = await self.store.insert_many(events)
        except Exception:
            self.writes.append((organizations, False))
            raise
        self.writes.append((organizations, True))
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def shared_writes_failed(self) -> int:
        return sum(1 for orgs, ok in self.writes if len(orgs) > 1 and not ok)


def pipeline_of(app: FastAPI) -> EventPipeline:
    pipeline: EventPipeline = app.state.event_pipeline
    return pipeline


@contextmanager
def logged_writes(app: FastAPI) -> Iterator[WriteLog]:
    pipeline = pipeline_of(app)
    log = WriteLog(pipeline.store)
    pipeline.store = log
    try:
        yield log
    finally:
        pipeline.store = log.store


async def serve(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app, answering 500s instead of raising them, with writes lingering a little."""
    app = create_app(settings)
    async for client in app_client(app, raise_app_exceptions=False):
        pipeline_of(app).group_commit.max_wait = LINGER
        yield app, client


@pytest.fixture
async def metered(
    sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant, tenant_b: Tenant
) -> None:
    """Both organizations have the metric their events name."""
    for tenant in (tenant_a, tenant_b):
        await add_metric(sessions, tenant, "api_calls")


@pytest.fixture
async def served(
    settings: Settings, metered: None
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async for pair in serve(settings):
        yield pair


@pytest.fixture(name="unforeseen")
def unforeseen_fixture(monkeypatch: pytest.MonkeyPatch) -> None:
    unforeseen(monkeypatch)


def unforeseen(monkeypatch: pytest.MonkeyPatch) -> None:
    """Validation (and the API boundary before it) lets unstorable strings through: the
    store's refusal is then unforeseen."""
    monkeypatch.setattr(validation, "storable", lambda _: True)
    monkeypatch.setattr(input_rules, "refusal", lambda scope, body: None)


@dataclass
class Traffic:
    """Organization A's valid requests and B's poisoned ones, sent all at once."""

    a_single: list[httpx.Response]
    a_batches: list[httpx.Response]
    b_single: list[httpx.Response]
    b_batches: list[httpx.Response]
    b_valid: list[httpx.Response]
    a_sent: set[str]
    b_valid_sent: set[str]


async def send_traffic(
    client: httpx.AsyncClient, a: Tenant, b: Tenant, *, scale: int = 10
) -> Traffic:
    """A's and B's requests interleaved, so that they arrive (and are written) together.

    At scale 10: A sends 60 single events and 5 batches of 10, B 30 poisoned single
    events, 5 batches of 10 with one poisoned event each, and 10 valid single events.
    """
    # Each organization's key and metric lookups first, so that neither waits for them.
    for tenant, warm_up in ((a, "a-warm"), (b, "b-ok-warm")):
        assert (await post(client, tenant, "/api/v1/events", {"event": event(warm_up)})).is_success
    a_single_ids = ["a-warm"] + [f"a-{n}" for n in range(6 * scale)]
    a_batch_ids = [[f"a-batch-{k}-{n}" for n in range(10)] for k in range(max(1, scale // 2))]
    b_valid_ids = ["b-ok-warm"] + [f"b-ok-{n}" for n in range(scale)]
    single, batch = "/api/v1/events", "/api/v1/events/batch"
    calls: dict[str, list[Any]] = {
        "a_single": [post(client, a, single, {"event": event(t)}) for t in a_single_ids[1:]],
        "a_batches": [
            post(client, a, batch, {"events": [event(t) for t in ids]}) for ids in a_batch_ids
        ],
        "b_single": [
            post(client, b, single, {"event": poisoned(f"b-{n}", n)}) for n in range(3 * scale)
        ],
        "b_batches": [
            post(
                client,
                b,
                batch,
                {"events": [event(f"b-batch-{k}-{n}") for n in range(9)] + [poisoned(f"b{k}", k)]},
            )
            for k in range(len(POISONS))
        ],
        "b_valid": [post(client, b, single, {"event": event(t)}) for t in b_valid_ids[1:]],
    }
    order = [(kind, n) for kind, coros in calls.items() for n in range(len(coros))]
    random.Random(9).shuffle(order)
    answers = await asyncio.gather(*(calls[kind][n] for kind, n in order))
    by_kind: dict[str, list[httpx.Response | None]] = {k: [None] * len(c) for k, c in calls.items()}
    for (kind, n), answer in zip(order, answers, strict=True):
        by_kind[kind][n] = answer
    grouped = {kind: [r for r in responses if r is not None] for kind, responses in by_kind.items()}
    a_sent = set(a_single_ids) | {t for ids in a_batch_ids for t in ids}
    return Traffic(**grouped, a_sent=a_sent, b_valid_sent=set(b_valid_ids))


def assert_a_and_b_valid_served(traffic: Traffic) -> None:
    statuses = [r.status_code for r in traffic.a_single + traffic.a_batches + traffic.b_valid]
    assert statuses == [200] * len(statuses)
    assert [len(r.json()["events"]) for r in traffic.a_batches] == [10] * len(traffic.a_batches)


def assert_b_poison_rejected(traffic: Traffic) -> None:
    for response in traffic.b_single + traffic.b_batches:
        assert response.status_code == 422, response.text
        body = response.json()
        assert (body["status"], body["error"], body["code"]) == (
            422,
            "Unprocessable Entity",
            "validation_errors",
        )


# --- PostgreSQL, through the HTTP API -----------------------------------------------------------


async def isolated_traffic(
    client: httpx.AsyncClient, a: Tenant, b: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> Traffic:
    """Send the traffic: every valid event is answered 200 and stored, B's poison 422."""
    traffic = await send_traffic(client, a, b)
    assert_a_and_b_valid_served(traffic)
    assert_b_poison_rejected(traffic)
    assert await stored_ids(sessions, a) == traffic.a_sent
    assert await stored_ids(sessions, b) == traffic.b_valid_sent
    return traffic


async def test_poisoned_events_of_one_organization_never_fail_anothers(
    served: tuple[FastAPI, httpx.AsyncClient],
    tenant_a: Tenant,
    tenant_b: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    app, client = served
    traffic = await isolated_traffic(client, tenant_a, tenant_b, sessions)
    # Refused at the API boundary, field by field (a bad key is named escaped); a batch
    # names its bad event by index.
    details = [r.json()["error_details"] for r in traffic.b_single[: len(POISONS)]]
    assert details == [
        {"properties.note": ["invalid_characters"]},
        {"properties.\\ud800": ["invalid_characters"]},
        {"properties.note": ["invalid_characters"]},
        {"transaction_id": ["invalid_characters"]},
        {"external_subscription_id": ["invalid_characters"]},
    ]
    assert [list(r.json()["error_details"]) for r in traffic.b_batches] == [
        [f"9.{field}"]
        for field in (*details[0], *details[1], *details[2], *details[3], *details[4])
    ]
    group_commit = pipeline_of(app).group_commit
    assert group_commit.flushes < group_commit.submissions  # writes were shared


@pytest.mark.usefixtures("unforeseen")
async def test_a_write_failure_validation_did_not_foresee_fails_only_its_request(
    served: tuple[FastAPI, httpx.AsyncClient],
    tenant_a: Tenant,
    tenant_b: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    app, client = served
    with logged_writes(app) as writes:
        traffic = await isolated_traffic(client, tenant_a, tenant_b, sessions)
    # The store refused them; which field, only validation could have said.
    assert {json.dumps(r.json()["error_details"]) for r in traffic.b_single} == {
        '{"event": ["value_is_invalid"]}'
    }
    assert {json.dumps(r.json()["error_details"]) for r in traffic.b_batches} == {
        '{"events": ["value_is_invalid"]}'
    }
    # B's poison really shared writes with A's events, which failed and were divided.
    group_commit = pipeline_of(app).group_commit
    assert writes.shared_writes_failed() >= 1
    assert group_commit.divisions >= 1
    assert group_commit.flushes < group_commit.submissions


async def test_an_unavailable_store_answers_503_after_one_write_per_batch(
    served: tuple[FastAPI, httpx.AsyncClient],
    tenant_a: Tenant,
    tenant_b: Tenant,
    database_url: str,
) -> None:
    app, client = served
    # The same app, its event store pointed at a port where nothing listens.
    await stop_event_pipeline(app.state)
    nowhere = create_engine(make_url(database_url).set(port=free_port()).render_as_string(False))
    pipeline = EventPipeline(
        PostgresEventStore(nowhere), engine_of(app.state.sessions), max_wait=LINGER
    )
    pipeline.start()
    app.state.event_pipeline = pipeline
    try:
        with logged_writes(app) as writes:
            answers = await asyncio.gather(
                *(
                    post(client, tenant, "/api/v1/events", {"event": event(f"down-{n}")})
                    for n in range(20)
                    for tenant in (tenant_a, tenant_b)
                ),
                post(
                    client,
                    tenant_a,
                    "/api/v1/events/batch",
                    {"events": [event(f"down-batch-{n}") for n in range(5)]},
                ),
            )
        assert {r.status_code for r in answers} == {503}
        assert answers[0].json() == {
            "status": 503,
            "error": "Service Unavailable",
            "code": "service_unavailable",
        }
        # No storm of retries: one write for each batch taken from the queue.
        assert len(writes.writes) == pipeline.group_commit.flushes < 41
        assert pipeline.group_commit.divisions == 0
    finally:
        await nowhere.dispose()


async def test_writes_go_on_after_the_servers_connections_were_closed(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    """E.g. after a PostgreSQL restart: the idle writer connections are dead; the next
    write takes a fresh one instead of failing."""
    store = PostgresEventStore(engine)
    org = tenant_a.organization_id
    at = validation.EARLIEST_TIMESTAMP
    first = NewEvent(org, "before", "sub-1", "api_calls", at, {})
    assert (await store.insert_many([first])).created == [True]
    async with engine.connect() as conn:
        await conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'bxb-events'"
            )
        )
    deadline = asyncio.get_running_loop().time() + 10
    while not all(c.is_closed() for c in store._idle_writers):
        assert asyncio.get_running_loop().time() < deadline, "the close was never noticed"
        await asyncio.sleep(0.01)
    second = NewEvent(org, "after", "sub-1", "api_calls", at, {})
    assert (await store.insert_many([second])).created == [True]
    await store.close()
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Event)) == 2


# --- ClickHouse (chDB) --------------------------------------------------------------------------


@pytest.fixture
async def served_on_clickhouse(
    settings: Settings, metered: None
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    chdb = settings.model_copy(update={"clickhouse_url": CHDB_URL})
    try:
        async for pair in serve(chdb):
            yield pair
    finally:
        store = ClickHouseEventStore.connect(CHDB_URL)
        await store.truncate()
        await store.close()


async def clickhouse_ids(app: FastAPI, tenant: Tenant) -> set[str]:
    events, _ = await pipeline_of(app).store.list_events(
        tenant.organization_id, EventFilters(), offset=0, limit=1000
    )
    return {e.transaction_id for e in events}


@pytest.mark.parametrize("foreseen", [True, False], ids=["validated", "unforeseen"])
async def test_poisoned_events_never_fail_another_organizations_on_clickhouse(
    served_on_clickhouse: tuple[FastAPI, httpx.AsyncClient],
    tenant_a: Tenant,
    tenant_b: Tenant,
    monkeypatch: pytest.MonkeyPatch,
    foreseen: bool,
) -> None:
    app, client = served_on_clickhouse
    if not foreseen:
        unforeseen(monkeypatch)
    traffic = await send_traffic(client, tenant_a, tenant_b, scale=4)
    assert_a_and_b_valid_served(traffic)
    if foreseen:
        # One rule for every store: ClickHouse could hold a NUL, PostgreSQL could not.
        assert_b_poison_rejected(traffic)
    else:
        # ClickHouse holds NUL; it refuses only what has no UTF-8 form (lone surrogates).
        surrogates = [r for n, r in enumerate(traffic.b_single) if n % len(POISONS) in (1, 2, 4)]
        assert {r.status_code for r in surrogates} == {422}
        assert pipeline_of(app).group_commit.divisions >= 1
    assert await clickhouse_ids(app, tenant_a) == traffic.a_sent
    assert traffic.b_valid_sent <= await clickhouse_ids(app, tenant_b)
