"""The engine's floor for bench/billing_cycle.py: one workflow, one no-op activity.

Its own module with no other imports, so the workflow sandbox validates it as it does
SubscriptionWorkflow: the two are measured under the same conditions.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn
async def noop() -> None:
    return None


@workflow.defn
class BareWorkflow:
    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity(noop, start_to_close_timeout=timedelta(seconds=60))
