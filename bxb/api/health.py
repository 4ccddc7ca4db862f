"""Liveness, readiness and metrics: outside /api/v1 and without authentication."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bxb.api.deps import SessionDep, SettingsDep, TemporalDep
from bxb.workflows.pipeline_check import PipelineCheckWorkflow

router = APIRouter(tags=["operations"])


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready")
async def ready(
    session: SessionDep, temporal: TemporalDep, settings: SettingsDep, deep: bool = False
) -> JSONResponse:
    """200 when PostgreSQL and Temporal answer; with ?deep=true also a worker round trip."""
    checks: dict[str, Any] = {}
    try:
        async with asyncio.timeout(2):
            await session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except (SQLAlchemyError, OSError, TimeoutError):
        checks["database"] = "unreachable"
    checks["temporal"] = "ok" if await temporal.is_healthy() else "unreachable"
    if deep and checks["temporal"] == "ok":
        checks["worker"] = await _worker_round_trip(temporal, settings.temporal_task_queue)
    ok = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ready" if ok else "not_ready", **checks}, status_code=200 if ok else 503
    )


async def _worker_round_trip(temporal: TemporalDep, task_queue: str) -> str:
    client = await temporal.client()
    try:
        await client.execute_workflow(
            PipelineCheckWorkflow.run,
            id=f"bxb-pipeline-check-{uuid.uuid4()}",
            task_queue=task_queue,
            execution_timeout=timedelta(seconds=5),
        )
    except Exception:
        return "unreachable"
    return "ok"


@router.get("/metrics")
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
