"""Temporal Schedules of the worker's periodic jobs (audit retention, recurring wallet
top-ups, dunning campaigns), created idempotently when a worker starts."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

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


def schedule_id(job: str, task_queue: str) -> str:
    return f"bxb-{job}:{task_queue}"


async def ensure_interval_schedule(
    client: Client, job: str, workflow_run: Any, task_queue: str, every: timedelta
) -> None:
    """Start `workflow_run` every `every` (a run still going skips the next one). Created
    once: a restarted worker, or a second one, leaves the existing schedule as it is."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            workflow_run, id=f"{job}:{task_queue}", task_queue=task_queue
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    with contextlib.suppress(ScheduleAlreadyRunningError):
        await client.create_schedule(schedule_id(job, task_queue), schedule)
