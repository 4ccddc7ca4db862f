"""Liveness, readiness and metrics: outside /api/v1 and without authentication."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.analytics.mrr import current_mrr_by_currency
from bxb.api.deps import SessionDep, SettingsDep, TemporalDep
from bxb.api.responses import JsonResponse
from bxb.core.metrics import MRR_GAUGE
from bxb.models import Organization
from bxb.workflows.pipeline_check import PipelineCheckWorkflow

log = logging.getLogger(__name__)
router = APIRouter(tags=["operations"])


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready")
async def ready(
    session: SessionDep, temporal: TemporalDep, settings: SettingsDep, deep: bool = False
) -> JsonResponse:
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
    return JsonResponse(
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
async def metrics(session: SessionDep) -> Response:
    """This process's metrics, and MRR per organization and currency (computed now)."""
    try:
        await MRR_GAUGE.refresh(lambda: _mrr_figures(session))
    except Exception:  # the counters are still worth serving
        log.exception("could not compute the MRR gauge")
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


async def _mrr_figures(session: AsyncSession) -> dict[tuple[str, str], int]:
    figures: dict[tuple[str, str], int] = {}
    for organization_id in (await session.scalars(select(Organization.id))).all():
        by_currency = await current_mrr_by_currency(session, organization_id)
        for currency, cents in by_currency.items():
            figures[(str(organization_id), currency)] = cents
    return figures
