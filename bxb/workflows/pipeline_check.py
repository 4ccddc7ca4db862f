"""PipelineCheckWorkflow: proves the whole path API → Temporal → worker → Postgres works.

`bxb check` and `GET /ready?deep=true` run it; it finishes in milliseconds when the stack
is healthy and times out (with a clear message) when no worker is polling.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from bxb.activities.health import DatabaseStatus, HealthActivities


@workflow.defn
class PipelineCheckWorkflow:
    @workflow.run
    async def run(self) -> DatabaseStatus:
        return await workflow.execute_activity_method(
            HealthActivities.check_database,
            start_to_close_timeout=timedelta(seconds=10),
        )
