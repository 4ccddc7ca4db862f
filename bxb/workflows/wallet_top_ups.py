"""WalletTopUpsWorkflow: one run of the recurring top-up rules, started hourly by a
Temporal Schedule (bxb.ledger.wallet_schedule)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from bxb.activities.wallet_top_ups import WalletTopUpActivities


@workflow.defn
class WalletTopUpsWorkflow:
    @workflow.run
    async def run(self) -> int:
        return await workflow.execute_activity_method(
            WalletTopUpActivities.run_recurring_top_ups,
            None,
            start_to_close_timeout=timedelta(minutes=30),
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=5)),
        )
