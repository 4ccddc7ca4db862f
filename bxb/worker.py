"""The Temporal worker: every workflow and activity bxb runs, on one task queue."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

from bxb.activities.health import HealthActivities
from bxb.core.db import create_engine, create_sessionmaker
from bxb.core.settings import Settings
from bxb.core.temporal import connect, ensure_search_attributes
from bxb.workflows.pipeline_check import PipelineCheckWorkflow

log = logging.getLogger(__name__)

WORKFLOWS = [PipelineCheckWorkflow]


def build_worker(
    client: Client, task_queue: str, sessions: async_sessionmaker[AsyncSession]
) -> Worker:
    health = HealthActivities(sessions)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=[health.check_database],
        # Activities are async; the executor only serves any sync ones added later.
        activity_executor=ThreadPoolExecutor(max_workers=8),
    )


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    """Run the worker until stop is set, then drain in-flight tasks and return."""
    client = await connect(settings.resolved_temporal_address, settings.temporal_namespace)
    await ensure_search_attributes(client)
    engine = create_engine(settings.resolved_database_url, pool_size=settings.database_pool_size)
    try:
        worker = build_worker(client, settings.temporal_task_queue, create_sessionmaker(engine))
        async with worker:
            log.info("worker polling task queue %s", settings.temporal_task_queue)
            await stop.wait()
    finally:
        await engine.dispose()
