"""Audit retention: a Temporal schedule deletes only the rows past the retention setting."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import ScheduleActionStartWorkflow
from temporalio.testing import WorkflowEnvironment

from bxb.core.db import transaction
from bxb.governance.audit import retention
from bxb.models import ActivityLog, ApiLog
from tests.support.auth import Tenant


async def _seed(sessions: async_sessionmaker[AsyncSession], org: uuid.UUID) -> None:
    now = datetime.now(UTC)
    ages = [timedelta(days=1096), timedelta(days=1200), timedelta(days=1094), timedelta(0)]
    async with transaction(sessions) as session:
        await session.execute(
            insert(ActivityLog),
            [
                {
                    "id": uuid.uuid4(),
                    "organization_id": org,
                    "activity_type": "customer.created",
                    "activity_source": "api",
                    "actor_kind": "api_key",
                    "resource_type": "Customer",
                    "resource_id": uuid.uuid4(),
                    "logged_at": now - age,
                }
                for age in ages
            ],
        )
        await session.execute(
            insert(ApiLog),
            [
                {
                    "request_id": uuid.uuid4(),
                    "organization_id": org,
                    "api_version": "v1",
                    "client": "test",
                    "http_method": "post",
                    "http_status": 200,
                    "request_path": "/customers",
                    "request_origin": "http://bxb.test/",
                    "duration_ms": 1.0,
                    "actor_kind": "api_key",
                    "logged_at": now - age,
                }
                for age in ages
            ],
        )


async def _counts(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    async with sessions() as session:
        activities = await session.scalar(select(func.count()).select_from(ActivityLog))
        requests = await session.scalar(select(func.count()).select_from(ApiLog))
    return int(activities or 0), int(requests or 0)


async def test_deletes_only_expired_rows_in_batches(
    sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    await _seed(sessions, tenant_a.organization_id)
    cutoff = datetime.now(UTC) - timedelta(days=1095)
    deleted = await retention.delete_expired(sessions, cutoff, batch_size=1)
    assert deleted == 4
    assert await _counts(sessions) == (2, 2)
    assert await retention.delete_expired(sessions, cutoff) == 0


async def test_the_schedule_exists_once_and_runs_the_retention(
    temporal_env: WorkflowEnvironment,
    worker: str,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
) -> None:
    client = temporal_env.client
    await retention.ensure_schedule(client, worker)
    await retention.ensure_schedule(client, worker)  # a restarted worker: no error, no copy
    handle = client.get_schedule_handle(retention.schedule_id(worker))
    try:
        described = await handle.describe()
        assert described.schedule.spec.intervals[0].every == timedelta(days=1)
        action = described.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        assert action.workflow == "AuditRetentionWorkflow"
        assert action.task_queue == worker

        await _seed(sessions, tenant_a.organization_id)
        await handle.trigger()
        for _ in range(100):
            if await _counts(sessions) == (2, 2):
                break
            await asyncio.sleep(0.2)
        assert await _counts(sessions) == (2, 2)
    finally:
        await handle.delete()
