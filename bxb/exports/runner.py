"""Writing one export's CSV: rows stream from a server-side cursor, the file is written in
~1 MB chunks, each committed with the progress it brings.

Memory stays flat whatever the size: the cursor hands over STREAM_ROWS rows at a time and
at most one chunk of CSV is held. A retried attempt restarts the file (its chunks are
deleted first), so no row is ever written twice; each run fences its writes with its own
`started_at`, so a superseded attempt still running elsewhere can't add chunks.
"""

from __future__ import annotations

import csv
import inspect
import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.db import transaction
from bxb.exports.cells import cell
from bxb.exports.columns import SPECS
from bxb.models import DataExport, DataExportChunk
from bxb.models.base import utcnow

CHUNK_CHARS = 1 << 20  # ~1 MB of CSV per stored chunk
STREAM_ROWS = 2_000  # rows the cursor fetches at a time


class SupersededError(Exception):
    """Another attempt restarted this export: this one must stop writing."""


@dataclass
class _File:
    export_id: uuid.UUID
    run: datetime  # this attempt's started_at (the fence)
    rows: int = 0
    chunks: int = 0
    size: int = 0
    buffer: io.StringIO = field(default_factory=io.StringIO)

    def __post_init__(self) -> None:
        self.writer = csv.writer(self.buffer, lineterminator="\r\n")


async def _restart(
    sessions: async_sessionmaker[AsyncSession], export_id: uuid.UUID
) -> tuple[DataExport, datetime] | None:
    """Claim the export for this attempt: chunks of an earlier attempt are dropped. None
    when it is finished already (a retry after the last commit)."""
    async with transaction(sessions) as session:
        export = await session.get(DataExport, export_id, with_for_update=True)
        if export is None or export.status in ("completed", "failed"):
            return None
        await session.execute(
            delete(DataExportChunk).where(DataExportChunk.data_export_id == export_id)
        )
        spec = SPECS[export.resource_type]
        filters = spec.filters.model_validate(export.filters)
        query = spec.query(export.organization_id, filters).order_by(None)
        run = utcnow()
        export.status = "processing"
        export.rows_exported = export.chunks_count = export.file_size = 0
        export.started_at = run
        export.rows_estimate = await session.scalar(
            select(func.count()).select_from(query.subquery())
        )
        return export, run


async def _flush(sessions: async_sessionmaker[AsyncSession], file: _File) -> None:
    data = file.buffer.getvalue().encode()
    file.buffer.seek(0)
    file.buffer.truncate()
    async with transaction(sessions) as session:
        fenced = await session.execute(
            update(DataExport)
            .where(DataExport.id == file.export_id, DataExport.started_at == file.run)
            .values(
                rows_exported=file.rows,
                chunks_count=file.chunks + 1,
                file_size=file.size + len(data),
                updated_at=utcnow(),
            )
        )
        if getattr(fenced, "rowcount", 0) != 1:
            raise SupersededError(str(file.export_id))
        session.add(DataExportChunk(data_export_id=file.export_id, seq=file.chunks, data=data))
    file.chunks += 1
    file.size += len(data)


async def write_export(
    sessions: async_sessionmaker[AsyncSession],
    export_id: uuid.UUID,
    progress: Callable[[int], Any] = lambda rows: None,
) -> DataExport | None:
    """Write the export's file; the export as claimed (with its organization, type and
    filters), or None when it was finished already. The caller completes it. `progress`
    gets the rows written so far after each batch; when it returns an awaitable, the
    writing waits for it."""
    claimed = await _restart(sessions, export_id)
    if claimed is None:
        return None
    export, run = claimed
    spec = SPECS[export.resource_type]
    query = spec.select(export.organization_id, spec.filters.model_validate(export.filters))
    file = _File(export_id, run)
    file.writer.writerow(spec.header)
    async with sessions() as reader:
        result = await reader.stream(query.execution_options(yield_per=STREAM_ROWS))
        async for rows in result.partitions():
            file.writer.writerows([cell(value) for value in row] for row in rows)
            file.rows += len(rows)
            if file.buffer.tell() >= CHUNK_CHARS:
                await _flush(sessions, file)
            reported = progress(file.rows)
            if inspect.isawaitable(reported):
                await reported
    await _flush(sessions, file)  # the last (maybe header-only) chunk
    export.rows_exported, export.chunks_count, export.file_size = file.rows, file.chunks, file.size
    return export
