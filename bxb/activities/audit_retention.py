"""The audit retention activity: delete activity and API logs past the retention setting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from bxb.activities.heartbeat import heartbeating
from bxb.core.settings import Settings
from bxb.governance.audit.retention import delete_expired


class AuditRetentionActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self.sessions = sessions
        self.settings = settings

    @activity.defn(name="delete_expired_audit_rows")
    async def delete_expired_audit_rows(self) -> int:
        # The wall clock is fine here (an activity); retrying deletes what is left.
        cutoff = datetime.now(UTC) - timedelta(days=self.settings.audit_retention_days)
        return await heartbeating(delete_expired(self.sessions, cutoff))
