"""`bxb events import FILE`: NDJSON in batches, idempotent re-runs, per-line rejections."""

from __future__ import annotations

import asyncio
import io
import json
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bxb.core.cli import main
from bxb.core.db import create_engine
from bxb.core.settings import Settings
from bxb.events.clickhouse_store import ClickHouseEventStore
from bxb.events.importer import ImportSummary, ProgressLine, import_events
from bxb.events.postgres_store import PostgresEventStore
from bxb.events.store import (
    EventFilters,
    EventStore,
    EventStoreUnavailableError,
    InsertResult,
    NewEvent,
)
from bxb.models import Event
from tests.integration.test_event_stores import CHDB_URL
from tests.integration.test_events import add_metric
from tests.support.auth import Tenant
from tests.support.ports import free_port

TS = 1_735_732_800


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("BXB_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("CLICKHOUSE_URL", raising=False)


async def run_cli(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))  # main() runs its own event loop


def line(transaction_id: str, **overrides: Any) -> str:
    event = {
        "transaction_id": transaction_id,
        "external_subscription_id": "sub-1",
        "code": "storage",
        "timestamp": TS,
        "properties": {"gb": 2},
    }
    return json.dumps({**event, **overrides})


async def stored(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        rows = await session.scalars(select(Event.transaction_id).order_by(Event.transaction_id))
        return list(rows)


@pytest.mark.usefixtures("cli_env")
async def test_import_reports_every_line_and_reruns_insert_nothing(
    tmp_path: Path,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    capsys: pytest.CaptureFixture[str],
) -> None:
    await add_metric(sessions, tenant_a, "storage", "sum_agg", "gb")
    ndjson = tmp_path / "events.ndjson"
    ndjson.write_text(
        "\n".join(
            [
                line("e1"),
                json.dumps({"event": json.loads(line("e2"))}),  # the API's wrapped form
                "{broken",
                line("e3", code="nope"),
                "",
                line("e4", properties={"gb": "many"}),
                line("e1"),  # duplicate of line 1
                line("e5", timestamp=None),
                '{"transaction_id": NaN}',
            ]
        )
        + "\n"
    )
    org = str(tenant_a.organization_id)
    assert await run_cli("events", "import", str(ndjson), "--organization-id", org) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        'line 3: rejected {"line": ["invalid_json"]}',
        'line 4: rejected {"code": ["billable_metric_not_found"]}',
        'line 6: rejected {"properties.gb": ["value_is_not_valid_number"]}',
        'line 9: rejected {"line": ["invalid_json"]}',
        "8 lines: 3 inserted, 1 duplicates, 4 rejected",
    ]
    assert "events import: 8 lines: 3 inserted" in captured.err
    assert await stored(sessions) == ["e1", "e2", "e5"]

    # A re-run of the same file (e.g. after a crash) stores nothing twice.
    assert await run_cli("events", "import", str(ndjson), "--api-key", tenant_a.api_key) == 1
    assert capsys.readouterr().out.splitlines()[-1] == (
        "8 lines: 0 inserted, 4 duplicates, 4 rejected"
    )
    assert await stored(sessions) == ["e1", "e2", "e5"]

    clean = tmp_path / "clean.ndjson"
    clean.write_text(line("e6") + "\n")
    assert await run_cli("events", "import", str(clean), "--organization-id", org) == 0
    assert capsys.readouterr().out == "1 lines: 1 inserted, 0 duplicates, 0 rejected\n"


@pytest.mark.usefixtures("cli_env")
@pytest.mark.parametrize(
    "owner",
    [
        ["--organization-id", str(uuid.UUID(int=1))],
        ["--organization-id", "not-a-uuid"],
        ["--api-key", "bxb_unknown_unknown_unknown"],
    ],
)
async def test_import_refuses_an_unknown_owner(
    tmp_path: Path,
    tenant_a: Tenant,
    owner: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    ndjson = tmp_path / "events.ndjson"
    ndjson.write_text(line("e1") + "\n")
    assert await run_cli("events", "import", str(ndjson), *owner) == 2
    assert "unknown organization or API key" in capsys.readouterr().err


async def test_import_streams_in_batches_with_progress(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    await add_metric(sessions, tenant_a, "storage", "sum_agg", "gb")
    lines = [line(f"b{n:03d}") for n in range(25)] + [line("bad", code="nope")] * 1200
    reports: list[str] = []
    seen: list[int] = []

    def progress(summary: ImportSummary) -> None:
        seen.append(summary.lines)
        ProgressLine(reports.append)(summary)

    store = PostgresEventStore(engine)
    summary = await import_events(
        store, engine, tenant_a.organization_id, lines, batch_size=10, progress=progress
    )
    await store.close()
    assert (summary.lines, summary.inserted, summary.duplicates) == (1225, 25, 0)
    assert summary.rejected == 1200
    assert len(summary.rejections) == 1000  # kept for the report; the count is exact
    assert seen[:3] == [10, 20, 30]
    assert reports[-1].startswith("events import: 1,225 lines: 25 inserted")
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Event)) == 25


async def test_import_into_clickhouse(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    await add_metric(sessions, tenant_a, "storage", "sum_agg", "gb")
    store = ClickHouseEventStore.connect(CHDB_URL)
    try:
        lines = [line(f"c{n}") for n in range(7)] * 2
        first = await import_events(store, engine, tenant_a.organization_id, lines, batch_size=3)
        assert (first.inserted, first.duplicates, first.rejected) == (7, 7, 0)
        _, total = await store.list_events(
            tenant_a.organization_id, EventFilters(), offset=0, limit=1
        )
        assert total == 7
    finally:
        await store.truncate()
        await store.close()


@pytest.mark.usefixtures("cli_env")
async def test_import_reads_standard_input_and_caps_the_rejection_report(
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await add_metric(sessions, tenant_a, "storage", "sum_agg", "gb")
    text = "\n".join([line("s1")] + ["{bad"] * 1001) + "\n"

    class Stdin:
        buffer = io.BytesIO(text.encode())

    monkeypatch.setattr(sys, "stdin", Stdin)
    org = str(tenant_a.organization_id)
    assert await run_cli("events", "import", "-", "--organization-id", org) == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1002
    assert out[-2:] == [
        "... and 1 more rejected lines",
        "1,002 lines: 1 inserted, 0 duplicates, 1,001 rejected",
    ]
    assert await stored(sessions) == ["s1"]


def poisoned_lines() -> list[str]:
    """Ten lines; lines 4 and 7 hold strings PostgreSQL cannot store, line 9 is nested
    deeper than any decoder goes."""
    lines = [line(f"p{n}") for n in range(1, 11)]
    lines[3] = line("p4", properties={"gb": 1, "note": "a\x00b"})
    lines[6] = line("p7", properties={"\ud800": 1})
    lines[8] = "[" * 100_000 + "]" * 100_000
    return lines


async def test_poisoned_lines_are_rejected_alone(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    await add_metric(sessions, tenant_a, "storage", "sum_agg", "gb")
    store = PostgresEventStore(engine)
    summary = await import_events(store, engine, tenant_a.organization_id, poisoned_lines())
    await store.close()
    assert summary.rejections == [
        (4, {"properties.note": ["invalid_characters"]}),
        (7, {"properties": ["invalid_characters"]}),
        (9, {"line": ["invalid_json"]}),
    ]
    assert (summary.lines, summary.inserted, summary.rejected) == (10, 7, 3)
    assert await stored(sessions) == sorted(f"p{n}" for n in (1, 2, 3, 5, 6, 8, 10))


@pytest.mark.parametrize("store_name", ["postgres", "clickhouse"])
async def test_a_batch_the_store_refuses_is_written_again_line_by_line(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    monkeypatch: pytest.MonkeyPatch,
    store_name: str,
) -> None:
    """What validation did not foresee: the store refuses one line of a batch."""
    from bxb.events import validation

    monkeypatch.setattr(validation, "storable", lambda _: True)
    await add_metric(sessions, tenant_a, "storage", "sum_agg", "gb")
    store: EventStore = (
        PostgresEventStore(engine)
        if store_name == "postgres"
        else ClickHouseEventStore.connect(CHDB_URL)
    )
    try:
        lines = poisoned_lines()
        first = await import_events(store, engine, tenant_a.organization_id, lines, batch_size=5)
        again = await import_events(store, engine, tenant_a.organization_id, lines, batch_size=5)
        stored_ids = {
            e.transaction_id
            for e in (
                await store.list_events(
                    tenant_a.organization_id, EventFilters(), offset=0, limit=100
                )
            )[0]
        }
    finally:
        if isinstance(store, ClickHouseEventStore):
            await store.truncate()
        await store.close()
    refused = {"event": ["value_is_invalid"]}
    # ClickHouse can hold a NUL; neither store can hold a lone surrogate.
    expected = [(7, refused), (9, {"line": ["invalid_json"]})]
    if store_name == "postgres":
        expected.insert(0, (4, refused))
    assert sorted(first.rejections) == expected
    assert (first.inserted, first.duplicates) == (10 - len(expected), 0)
    assert (again.inserted, again.duplicates) == (0, 10 - len(expected))  # nothing twice
    assert stored_ids == {f"p{n}" for n in range(1, 11)} - {f"p{n}" for n, _ in expected}


async def test_an_unavailable_store_stops_the_import_after_one_write(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    database_url: str,
) -> None:
    """Nothing to divide: the store is down (nothing listens on its port)."""
    await add_metric(sessions, tenant_a, "storage", "sum_agg", "gb")
    nowhere = create_engine(make_url(database_url).set(port=free_port()).render_as_string(False))
    store = PostgresEventStore(nowhere)
    writes = 0
    insert_many = store.insert_many

    async def counted(events: Sequence[NewEvent]) -> InsertResult:
        nonlocal writes
        writes += 1
        return await insert_many(events)

    store.insert_many = counted  # type: ignore[method-assign]
    try:
        with pytest.raises(EventStoreUnavailableError):
            await import_events(store, engine, tenant_a.organization_id, poisoned_lines())
    finally:
        await store.close()
        await nowhere.dispose()
    assert writes == 1
