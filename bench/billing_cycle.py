"""Billing cycle benchmark: N subscriptions whose periods end at the same moment.

All N subscriptions belong to customers on one test clock; advancing the clock by a month
makes every workflow close its period (one invoice each, then continue-as-new) at once.
The figure is the time until every invoice exists, as invoices/s, next to the engine's
floor measured in the same process on the same server: N bare workflows that each run one
no-op activity.

    .venv/bin/python bench/billing_cycle.py [--subscriptions 10000]

Prints a final JSON line and writes bench/results/billing_cycle-<UTC timestamp>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bxb.core.db import create_engine, create_sessionmaker, transaction
from bxb.core.embedded import EmbeddedPostgres, find_binary
from bxb.core.migrate import upgrade
from bxb.core.organizations import create_organization
from bxb.core.subscriptions import (
    ADVANCE_CONCURRENCY,
    advance_workflows,
    initial_state,
    plan_snapshot,
    start_subscription,
)
from bxb.events.postgres_store import PostgresEventStore
from bxb.models import Customer, Invoice, Plan, TestClock
from bxb.worker import WORKFLOW_RUNNER, build_worker
from bxb.workflows import search_attributes
from bxb.workflows.state import CreateRequest
from bxb.workflows.subscription import workflow_id

sys.path.insert(0, str(Path(__file__).parent))
from floor_workflow import BareWorkflow, noop

RESULTS = Path(__file__).parent / "results"
START = datetime(2026, 1, 1, tzinfo=UTC)
SETUP_WAIT = 300.0
SETUP_CONCURRENCY = ADVANCE_CONCURRENCY


async def floor(client: Client, n: int) -> float:
    """Seconds for N bare one-activity workflows, all started at once."""
    queue = f"floor-{uuid.uuid4().hex[:6]}"
    # The same workflow runner as bxb's worker: the floor differs only in the work done.
    async with Worker(
        client,
        task_queue=queue,
        workflows=[BareWorkflow],
        activities=[noop],
        workflow_runner=WORKFLOW_RUNNER,
    ):
        started = time.perf_counter()
        gate = asyncio.Semaphore(SETUP_CONCURRENCY)

        async def one(i: int) -> None:
            # Bounded like bxb's clock advance: waiting for a result holds a server poll.
            async with gate:
                handle = await client.start_workflow(
                    BareWorkflow.run, id=f"{queue}-{i}", task_queue=queue
                )
                await handle.result()

        await asyncio.gather(*(one(i) for i in range(n)))
        return time.perf_counter() - started


async def cycle(client: Client, database_url: str, n: int) -> dict[str, float | int]:
    engine = create_engine(database_url, pool_size=40)
    sessions = create_sessionmaker(engine)
    async with transaction(sessions) as session:
        org, _ = await create_organization(session, f"Bench {uuid.uuid4().hex[:6]}")
        clock = TestClock(organization_id=org.id, name="bench", frozen_time=START)
        plan = Plan(
            organization_id=org.id,
            code="bench",
            name="Bench",
            interval="monthly",
            amount_cents=1000,
            amount_currency="USD",
        )
        session.add_all([clock, plan])
        await session.flush()
        customers = [
            Customer(
                organization_id=org.id,
                external_id=f"cus_{i}",
                sequential_id=i + 1,
                metadata_=[],
                test_clock_id=clock.id,
                currency="USD",
            )
            for i in range(n)
        ]
        session.add_all(customers)
        await session.flush()
        await session.refresh(plan, ["charges", "fixed_charges", "usage_thresholds"])
        snapshot = plan_snapshot(plan)
    queue = f"bxb-{uuid.uuid4().hex[:6]}"
    events = PostgresEventStore(engine)
    async with build_worker(client, queue, sessions, events):
        gate = asyncio.Semaphore(SETUP_CONCURRENCY)

        async def subscribe(customer: Customer) -> None:
            state = initial_state(
                organization=org,
                customer=customer,
                plan=snapshot,
                external_id=f"sub_{customer.external_id}",
                name=None,
                billing_time="calendar",
                subscription_at=START,
                ending_at=None,
                clock_time=START,
            )
            async with gate:
                # Setup is not what is measured: wait as long as a busy machine needs.
                request = CreateRequest(plan=snapshot)
                await start_subscription(client, queue, state, request, wait=SETUP_WAIT)

        setup_started = time.perf_counter()
        await asyncio.gather(*(subscribe(c) for c in customers))
        setup = time.perf_counter() - setup_started
        ids = [workflow_id(org.id, f"sub_{c.external_id}") for c in customers]
        started = time.perf_counter()
        failures = await advance_workflows(
            client, ids, START + timedelta(days=31), timedelta(minutes=30)
        )
        elapsed = time.perf_counter() - started
    async with sessions() as session:
        invoices = await session.scalar(
            select(func.count()).select_from(Invoice).where(Invoice.organization_id == org.id)
        )
    await events.close()
    await engine.dispose()
    return {
        "setup_s": setup,
        "cycle_s": elapsed,
        "invoices": int(invoices or 0),
        "errors": len(failures),
    }


async def main(n: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as data:
        postgres = EmbeddedPostgres(Path(data), 55499)  # durable, as `bxb up` runs it
        await postgres.start()
        try:
            await upgrade(postgres.url)
            env = await WorkflowEnvironment.start_local(
                dev_server_existing_path=find_binary("temporal"),
                search_attributes=search_attributes.ALL,
                data_converter=pydantic_data_converter,
                dev_server_log_level="error",
            )
            try:
                floor_s = await floor(env.client, n)
                result = await cycle(env.client, postgres.url, n)
            finally:
                await env.shutdown()
        finally:
            postgres.stop()
    per_invoice_ms = 1000 * float(result["cycle_s"]) / n
    per_workflow_ms = 1000 * floor_s / n
    return {
        "benchmark": "billing_cycle",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "subscriptions": n,
        "invoices": result["invoices"],
        "errors": result["errors"],
        "setup_s": round(float(result["setup_s"]), 2),
        "cycle_s": round(float(result["cycle_s"]), 2),
        "invoices_per_s": round(n / float(result["cycle_s"]), 1),
        "floor_s": round(floor_s, 2),
        "floor_workflows_per_s": round(n / floor_s, 1),
        "per_invoice_ms": round(per_invoice_ms, 3),
        "floor_per_workflow_ms": round(per_workflow_ms, 3),
        "ratio_to_floor": round(per_invoice_ms / per_workflow_ms, 2),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscriptions", type=int, default=10_000)
    args = parser.parse_args()
    figures = asyncio.run(main(args.subscriptions))
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"billing_cycle-{stamp}.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures))
