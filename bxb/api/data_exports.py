"""/api/v1/data_exports: CSV exports of invoices, fees, credit notes, customers, events.

POST checks the resource type and its filters (the list route's own filter definitions,
bxb.listings) before anything is written: bad input is a 422 with no export and no
workflow. The file is streamed from PostgreSQL chunk by chunk once completed (409
`data_export_not_ready` before, 404 for another organization's export).
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from bxb.api.deps import OrgDep, SessionDep, TemporalDep
from bxb.api.errors import ApiError, not_found, validation_error
from bxb.api.list_filters import parse_filters
from bxb.api.pagination import PageDep, paginate
from bxb.events.postgres_store import PostgresEventStore
from bxb.exports.columns import SPECS
from bxb.exports.service import create_data_export, file_chunks
from bxb.lago_objects.data_exports import data_export_object
from bxb.models import DataExport

router = APIRouter(prefix="/api/v1", tags=["data_exports"])

ResourceType = Literal["invoices", "fees", "credit_notes", "customers", "events"]
MAX_FILTERS = 40  # more keys than any resource has filters


class DataExportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resource_type: ResourceType
    format: Literal["csv"] = "csv"
    filters: dict[str, Any] = Field(default_factory=dict, max_length=MAX_FILTERS)


class DataExportBody(BaseModel):
    data_export: DataExportIn


def _events_in_postgres(request: Request) -> bool:
    """Events are exported from the PostgreSQL store (the default), not ClickHouse."""
    pipeline = getattr(request.app.state, "event_pipeline", None)
    return pipeline is None or isinstance(pipeline.store, PostgresEventStore)


def _base(request: Request) -> str:
    return str(request.base_url)


async def _find(session: SessionDep, organization_id: uuid.UUID, lago_id: str) -> DataExport:
    try:
        export_id = uuid.UUID(lago_id)
    except ValueError:
        raise not_found("data_export") from None
    export = await session.scalar(
        select(DataExport).where(
            DataExport.id == export_id, DataExport.organization_id == organization_id
        )
    )
    if export is None:
        raise not_found("data_export")
    return export


@router.post("/data_exports")
async def create_export(
    body: DataExportBody, request: Request, org: OrgDep, temporal: TemporalDep
) -> dict[str, Any]:
    data = body.data_export
    spec = SPECS[data.resource_type]
    if data.resource_type == "events" and not _events_in_postgres(request):
        raise validation_error({"resource_type": ["not_supported_by_event_store"]})
    filters = parse_filters(spec.filters, data.filters, root=("data_export", "filters"))
    client = await temporal.client()
    export = await create_data_export(
        request.app.state.sessions, client, org.id, data.resource_type, filters
    )
    return {"data_export": data_export_object(export, _base(request))}


@router.get("/data_exports")
async def list_exports(
    request: Request, org: OrgDep, session: SessionDep, page: PageDep
) -> dict[str, Any]:
    query = (
        select(DataExport)
        .where(DataExport.organization_id == org.id)
        .order_by(DataExport.created_at.desc(), DataExport.id.desc())
    )
    exports, meta = await paginate(session, query, page)
    base = _base(request)
    return {
        "data_exports": [data_export_object(e, base) for e in exports],
        "meta": meta.model_dump(),
    }


@router.get("/data_exports/{lago_id}")
async def get_export(
    lago_id: str, request: Request, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    export = await _find(session, org.id, lago_id)
    return {"data_export": data_export_object(export, _base(request))}


@router.get("/data_exports/{lago_id}/file")
async def download_export(
    lago_id: str, request: Request, org: OrgDep, session: SessionDep
) -> StreamingResponse:
    export = await _find(session, org.id, lago_id)
    if export.status != "completed":
        raise ApiError(409, code="data_export_not_ready")
    filename = f"{export.resource_type}-{export.id}.csv"
    return StreamingResponse(
        file_chunks(request.app.state.sessions, export.id, export.chunks_count),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Content-Length": str(export.file_size),
        },
    )
