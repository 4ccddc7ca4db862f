"""DunningCampaignsWorkflow: one sweep of the dunning campaigns, started hourly by a
Temporal Schedule (bxb/ledger/dunning_campaigns.py decides; this only runs it)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from bxb.workflows.heartbeats import HEARTBEAT_TIMEOUT


@workflow.defn
class DunningCampaignsWorkflow:
    @workflow.run
    async def run(self) -> int:
        made: int = await workflow.execute_activity(
            "process_dunning_campaigns",
            result_type=int,
            start_to_close_timeout=timedelta(hours=1),
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=5)),
            summary="dunning campaigns sweep",
        )
        return made
