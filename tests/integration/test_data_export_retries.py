"""The export's writing, called as the activity calls it: a retried attempt restarts the
file (no row twice) and an attempt superseded by a newer one can't write. And events on
the ClickHouse store are refused up front."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.api.app import create_app
from bxb.core.db import transaction
from bxb.core.settings import Settings
from bxb.exports.outcome import complete_export
from bxb.exports.runner import SupersededError, write_export
from bxb.models import DataExport, DataExportChunk, Event
from tests.conftest import app_client
from tests.integration.test_event_stores import CHDB_URL
from tests.support.auth import Tenant


async def _seed(
    sessions: async_sessionmaker[AsyncSession], tenant: Tenant, count: int
) -> uuid.UUID:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    async with transaction(sessions) as session:
        session.add_all(
            Event(
                organization_id=tenant.organization_id,
                transaction_id=f"tx_{i:05d}",
                external_subscription_id="sub_1",
                code="api_calls",
                timestamp=start + timedelta(minutes=i),
                properties={"pad": "y" * 300},
            )
            for i in range(count)
        )
        export = DataExport(
            organization_id=tenant.organization_id,
            resource_type="events",
            filters={},
            status="pending",
            rows_exported=0,
            chunks_count=0,
            file_size=0,
        )
        session.add(export)
    return export.id


async def _file(sessions: async_sessionmaker[AsyncSession], export_id: uuid.UUID) -> list[str]:
    async with sessions() as session:
        chunks = await session.scalars(
            select(DataExportChunk.data)
            .where(DataExportChunk.data_export_id == export_id)
            .order_by(DataExportChunk.seq)
        )
        text = b"".join(chunks.all()).decode()
    return [row["transaction_id"] for row in csv.DictReader(io.StringIO(text))]


async def test_a_retried_attempt_restarts_the_file(
    sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    export_id = await _seed(sessions, tenant_a, 5_000)
    first = await write_export(sessions, export_id)
    assert first is not None
    assert first.rows_exported == 5_000
    assert first.chunks_count >= 2
    # The attempt died before completing: the retry writes the whole file again, once.
    second = await write_export(sessions, export_id)
    assert second is not None
    assert second.rows_exported == 5_000
    assert second.chunks_count == first.chunks_count
    rows = await _file(sessions, export_id)
    assert rows == [f"tx_{i:05d}" for i in range(5_000)]
    # The first attempt's completion comes too late: it no longer owns the export.
    assert first.started_at is not None
    assert second.started_at is not None
    assert await complete_export(sessions, export_id, first.started_at, "http://x") == []
    await complete_export(sessions, export_id, second.started_at, "http://x")
    async with sessions() as session:
        stored = await session.get(DataExport, export_id)
        assert stored is not None
        assert stored.status == "completed"
    assert await write_export(sessions, export_id) is None  # finished: nothing rewritten


async def test_a_superseded_attempt_cannot_write(
    sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    export_id = await _seed(sessions, tenant_a, 5_000)  # a chunk flushed after 4,000 rows

    async def restarted_elsewhere() -> None:
        async with transaction(sessions) as session:
            await session.execute(
                update(DataExport)
                .where(DataExport.id == export_id)
                .values(started_at=datetime.now(UTC) + timedelta(seconds=1))
            )

    restarted = False

    async def restart_after_the_first_rows(_: int) -> None:
        # Runs inside the writer after 2,000 rows are read and before any chunk is
        # committed, so the newer attempt always claims the export first.
        nonlocal restarted
        if not restarted:
            restarted = True
            await restarted_elsewhere()

    task = asyncio.create_task(write_export(sessions, export_id, restart_after_the_first_rows))
    with pytest.raises(SupersededError):
        await task
    assert await _file(sessions, export_id) == []


async def test_events_on_clickhouse_are_refused_before_anything_is_written(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    chdb = settings.model_copy(update={"clickhouse_url": CHDB_URL})
    body = {"data_export": {"resource_type": "events", "format": "csv"}}
    async for client in app_client(create_app(chdb)):
        response = await client.post("/api/v1/data_exports", json=body, headers=tenant_a.headers)
        assert response.status_code == 422
        details = response.json()["error_details"]
        assert details == {"resource_type": ["not_supported_by_event_store"]}
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(DataExport)) == 0
