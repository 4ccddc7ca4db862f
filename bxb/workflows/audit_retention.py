"""AuditRetentionWorkflow: one retention run, started daily by a Temporal Schedule."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from bxb.workflows.heartbeats import HEARTBEAT_TIMEOUT

with workflow.unsafe.imports_passed_through():
    from bxb.activities.audit_retention import AuditRetentionActivities


@workflow.defn
class AuditRetentionWorkflow:
    @workflow.run
    async def run(self) -> int:
        return await workflow.execute_activity_method(
            AuditRetentionActivities.delete_expired_audit_rows,
            start_to_close_timeout=timedelta(hours=1),
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=5)),
        )
