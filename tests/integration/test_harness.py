"""The shared fixtures themselves work: time-skipping Temporal and localstripe."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import stripe
from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker


@workflow.defn(sandboxed=False)
class SleepsForAMonth:
    @workflow.run
    async def run(self) -> float:
        start = workflow.now()
        await workflow.sleep(timedelta(days=31))
        return (workflow.now() - start).total_seconds()


async def test_time_skipping_server_skips_a_month(time_skipping_env: WorkflowEnvironment) -> None:
    queue = f"ts-{uuid.uuid4().hex[:8]}"
    async with Worker(time_skipping_env.client, task_queue=queue, workflows=[SleepsForAMonth]):
        loop = asyncio.get_running_loop()
        started = loop.time()
        elapsed = await time_skipping_env.client.execute_workflow(
            SleepsForAMonth.run, id=f"sleep-{queue}", task_queue=queue
        )
    month = timedelta(days=31).total_seconds()
    assert month <= elapsed < month + 60
    assert loop.time() - started < 30  # a month of timers, skipped


async def test_localstripe_speaks_to_the_real_stripe_sdk(localstripe_url: str) -> None:
    client = stripe.StripeClient(
        "sk_test_bxb", base_addresses={"api": localstripe_url}, max_network_retries=0
    )
    created = await asyncio.to_thread(
        client.v1.customers.create, params={"email": "card@holder.example"}
    )
    fetched = await asyncio.to_thread(client.v1.customers.retrieve, created.id)
    assert fetched.email == "card@holder.example"
