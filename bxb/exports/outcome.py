"""Finishing an export: completed (or failed) and its webhook queued, in one transaction.

Webhooks: `data_export.succeeded` (the export, with its file_url) and `data_export.failed`
(with the error), through the outbox like every other webhook.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.db import transaction
from bxb.lago_objects.data_exports import data_export_object
from bxb.models import DataExport, DataExportChunk
from bxb.models.base import utcnow
from bxb.webhooks import outbox

SUCCEEDED = "data_export.succeeded"
FAILED = "data_export.failed"
ERROR_LIMIT = 2000


async def _emit(session: AsyncSession, export: DataExport, kind: str, base: str) -> list[uuid.UUID]:
    await session.flush()
    payload = {"data_export": data_export_object(export, base)}
    return await outbox.emit(session, export.organization_id, kind, export.id, payload)


async def complete_export(
    sessions: async_sessionmaker[AsyncSession], export_id: uuid.UUID, run: datetime, base: str
) -> list[uuid.UUID]:
    """Mark the export completed (if this run still owns it); the webhooks to dispatch."""
    async with transaction(sessions) as session:
        export = await session.get(DataExport, export_id, with_for_update=True)
        if export is None or export.started_at != run or export.status != "processing":
            return await outbox.undelivered(session, export_id)
        export.status = "completed"
        export.completed_at = utcnow()
        return await _emit(session, export, SUCCEEDED, base)


async def fail_export(
    sessions: async_sessionmaker[AsyncSession], export_id: uuid.UUID, error: str, base: str
) -> list[uuid.UUID]:
    """Mark the export failed (unless it completed); its chunks go. The webhooks to
    dispatch."""
    async with transaction(sessions) as session:
        export = await session.get(DataExport, export_id, with_for_update=True)
        if export is None or export.status in ("completed", "failed"):
            return [] if export is None else await outbox.undelivered(session, export_id)
        export.status = "failed"
        export.error = error[:ERROR_LIMIT]
        export.completed_at = utcnow()
        export.file_size = export.chunks_count = 0
        await session.execute(
            delete(DataExportChunk).where(DataExportChunk.data_export_id == export_id)
        )
        return await _emit(session, export, FAILED, base)
