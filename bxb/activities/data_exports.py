"""The activities of DataExportWorkflow: write the CSV (heartbeating the rows done), and
mark an export failed. The work is in bxb.exports."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from bxb.activities.guard import fails_fast
from bxb.activities.subscriptions import dispatch_webhooks
from bxb.core.settings import Settings
from bxb.events.postgres_store import PostgresEventStore
from bxb.events.store import EventStore
from bxb.exports.outcome import complete_export, fail_export
from bxb.exports.runner import write_export
from bxb.models import DataExport
from bxb.workflows.data_export import (
    FAIL_ACTIVITY,
    WRITE_ACTIVITY,
    DataExportFailure,
    DataExportRequest,
)


class DataExportActivities:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], events: EventStore, settings: Settings
    ) -> None:
        self.sessions = sessions
        self.events = events
        self.base_url = settings.resolved_public_url

    async def _check_store(self, request: DataExportRequest) -> None:
        async with self.sessions() as session:
            export = await session.get(DataExport, request.data_export_id)
        postgres = isinstance(self.events, PostgresEventStore)
        if export is not None and export.resource_type == "events" and not postgres:
            raise ApplicationError(
                "events are exported from the PostgreSQL event store only",
                type="ExportUnsupported",
                non_retryable=True,
            )

    @activity.defn(name=WRITE_ACTIVITY)
    @fails_fast  # filters that no longer parse, data errors: failed at once, not retried
    async def write_data_export(self, request: DataExportRequest) -> None:
        await self._check_store(request)
        # Heartbeats carry the rows done, so progress shows in Temporal's UI too.
        progress = activity.heartbeat if activity.in_activity() else (lambda *_: None)
        export = await write_export(self.sessions, request.data_export_id, progress)
        if export is None or export.started_at is None:
            return
        ids = await complete_export(
            self.sessions, request.data_export_id, export.started_at, self.base_url
        )
        await dispatch_webhooks(ids)

    @activity.defn(name=FAIL_ACTIVITY)
    async def fail_data_export(self, failure: DataExportFailure) -> None:
        ids = await fail_export(self.sessions, failure.data_export_id, failure.error, self.base_url)
        await dispatch_webhooks(ids)

    def all(self) -> list[Any]:
        return [self.write_data_export, self.fail_data_export]
