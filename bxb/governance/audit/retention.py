"""Audit retention: rows older than the setting are deleted, in batches, by the worker.

Deleting an audit row is refused by a trigger except in a transaction that says it is
the retention job (`SET LOCAL bxb.audit_retention = 'on'`); only this module does. Each
batch is its own short transaction, so a long backlog never holds locks for long.
The daily run is a Temporal Schedule, created (idempotently) when the worker starts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from bxb.core import schedules

BATCH_SIZE = 5_000
TABLES = {"activity_logs": "id", "api_logs": "request_id"}
JOB = "audit-retention"
EVERY = timedelta(days=1)


def schedule_id(task_queue: str) -> str:
    return schedules.schedule_id(JOB, task_queue)


async def delete_expired(
    sessions: async_sessionmaker[AsyncSession], cutoff: datetime, *, batch_size: int = BATCH_SIZE
) -> int:
    """Delete audit rows logged before cutoff; the number deleted."""
    deleted = 0
    for table, key in TABLES.items():
        while True:
            async with sessions() as session, session.begin():
                await session.execute(text("SET LOCAL bxb.audit_retention = 'on'"))
                result = await session.execute(
                    text(
                        f"DELETE FROM {table} WHERE {key} IN ("  # noqa: S608 - fixed names
                        f"SELECT {key} FROM {table} WHERE logged_at < :cutoff LIMIT :n)"
                    ),
                    {"cutoff": cutoff, "n": batch_size},
                )
            count = int(result.rowcount or 0)  # type: ignore[attr-defined]
            deleted += count
            if count < batch_size:
                break
    return deleted


async def ensure_schedule(client: Client, task_queue: str) -> None:
    """The daily retention run, created once; a worker restart leaves it as it is."""
    from bxb.workflows.audit_retention import AuditRetentionWorkflow

    await schedules.ensure_interval_schedule(
        client, JOB, AuditRetentionWorkflow.run, task_queue, EVERY
    )
