"""Creating an export (a row, then its workflow) and reading its file chunk by chunk."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from bxb.core.db import transaction
from bxb.listings.base import ListFilters
from bxb.models import DataExport, DataExportChunk
from bxb.webhooks import outbox
from bxb.workflows.data_export import (
    DataExportRequest,
    DataExportWorkflow,
    data_export_workflow_id,
)


async def start_data_export(client: Client, export_id: uuid.UUID) -> None:
    await client.start_workflow(
        DataExportWorkflow.run,
        DataExportRequest(data_export_id=export_id),
        id=data_export_workflow_id(export_id),
        task_queue=outbox.resolve_task_queue(None),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


async def create_data_export(
    sessions: async_sessionmaker[AsyncSession],
    client: Client,
    organization_id: uuid.UUID,
    resource_type: str,
    filters: ListFilters,
) -> DataExport:
    """Record the export and start its workflow. If the workflow can't be started the row
    is removed again and the error raised: an export exists only if it will run."""
    stored: dict[str, Any] = filters.model_dump(mode="json", exclude_defaults=True)
    async with transaction(sessions) as session:
        export = DataExport(
            organization_id=organization_id,
            resource_type=resource_type,
            format="csv",
            filters=stored,
            status="pending",
            rows_exported=0,
            chunks_count=0,
            file_size=0,
        )
        session.add(export)
    try:
        await start_data_export(client, export.id)
    except BaseException:
        async with transaction(sessions) as session:
            await session.execute(delete(DataExport).where(DataExport.id == export.id))
        raise
    return export


async def file_chunks(
    sessions: async_sessionmaker[AsyncSession], export_id: uuid.UUID, count: int
) -> AsyncIterator[bytes]:
    """The file's chunks in order, one query (and one chunk in memory) at a time."""
    for seq in range(count):
        async with sessions() as session:
            data = await session.scalar(
                select(DataExportChunk.data).where(
                    DataExportChunk.data_export_id == export_id, DataExportChunk.seq == seq
                )
            )
        if data is None:  # restarted meanwhile: end the body short rather than mix files
            return
        yield data
