"""The hourly Temporal Schedule running the recurring top-up rules (interval rules, and
threshold rules whose crossing no consumption reported), created idempotently when the
worker starts."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client

from bxb.core import schedules

JOB = "wallet-top-ups"
EVERY = timedelta(hours=1)


def schedule_id(task_queue: str) -> str:
    return schedules.schedule_id(JOB, task_queue)


async def ensure_schedule(client: Client, task_queue: str) -> None:
    """The hourly recurring top-up run, created once; a worker restart leaves it as it is."""
    from bxb.workflows.wallet_top_ups import WalletTopUpsWorkflow

    await schedules.ensure_interval_schedule(
        client, JOB, WalletTopUpsWorkflow.run, task_queue, EVERY
    )
