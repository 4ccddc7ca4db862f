"""The audit retention activity: delete activity and API logs past the retention setting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from bxb.activities.heartbeat import heartbeating
from bxb.core.settings import Settings
from bxb.governance.audit.retention import delete_expired
from bxb.governance.idempotency import purge_expired_idempotency_keys


class AuditRetentionActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self.sessions = sessions
        self.settings = settings

    @activity.defn(name="delete_expired_audit_rows")
    async def delete_expired_audit_rows(self) -> int:
        # The wall clock is fine here (an activity); retrying deletes what is left.
        cutoff = datetime.now(UTC) - timedelta(days=self.settings.audit_retention_days)
        deleted = await heartbeating(delete_expired(self.sessions, cutoff))
        # The same daily sweep drops Idempotency-Keys past their 24 hours.
        return deleted + await purge_expired_idempotency_keys(self.sessions)
