"""The hourly Temporal Schedule running the recurring top-up rules (interval rules, and
threshold rules whose crossing no consumption reported), created idempotently when the
worker starts."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)

EVERY = timedelta(hours=1)


def schedule_id(task_queue: str) -> str:
    return f"bxb-wallet-top-ups:{task_queue}"


async def ensure_schedule(client: Client, task_queue: str) -> None:
    from bxb.workflows.wallet_top_ups import WalletTopUpsWorkflow

    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            WalletTopUpsWorkflow.run,
            id=f"wallet-top-ups:{task_queue}",
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=EVERY)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    with contextlib.suppress(ScheduleAlreadyRunningError):
        await client.create_schedule(schedule_id(task_queue), schedule)
