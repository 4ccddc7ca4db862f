"""Billing cycle benchmark: N subscriptions whose periods end at the same moment.

All N subscriptions belong to customers on one test clock; advancing the clock by a month
makes every workflow close its period (one invoice each) at once. The figure is the time
until every invoice exists, as invoices/s, next to the engine's floor measured in the same
run on the same server with the same workers: N bare workflows that each run one no-op
activity. With `--worker-processes N` both run on N separate worker processes
(bench/cycle_worker.py, as `bxb worker`) instead of inside the bench's own process.

Beside the figures: CPU seconds of each process (bench, Temporal server, PostgreSQL,
workers) in each phase, the history events per invoice and per floor workflow (server
round trips and bytes), each worker process's share of the workflow and activity tasks, and
the invoices per subscription and period (exactly one each: no duplicate).

    PYTHONPATH=. .venv/bin/python bench/billing_cycle.py [--subscriptions 1000]
        [--worker-processes N] [--results-dir DIR]

Prints a final JSON line and writes bench/results/billing_cycle-<UTC timestamp>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
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
    pinned_snapshot,
    start_subscription,
)
from bxb.events.postgres_store import PostgresEventStore
from bxb.models import Customer, Invoice, Organization, Plan, TestClock
from bxb.worker import WORKFLOW_RUNNER, build_worker
from bxb.workflows import search_attributes
from bxb.workflows.state import CreateRequest, PlanSnapshot
from bxb.workflows.subscription import workflow_id

sys.path.insert(0, str(Path(__file__).parent))
from cycle_support import WorkerProcesses, cpu_between, cpu_seconds, history_figures
from floor_workflow import BareWorkflow, noop

RESULTS = Path(__file__).parent / "results"
START = datetime(2026, 1, 1, tzinfo=UTC)
SETUP_WAIT = 300.0
SETUP_CONCURRENCY = ADVANCE_CONCURRENCY
HISTORY_LIMIT = 4000  # runs read for the history figures (enough for 1,000 subscriptions)


class Setup:
    """Where the phases run: the server, the database, and 0 (in-process) or N workers."""

    def __init__(self, client: Client, database_url: str, processes: int, out: Path) -> None:
        self.client, self.database_url, self.processes, self.out = (
            client,
            database_url,
            processes,
            out,
        )

    @contextlib.asynccontextmanager
    async def workers(self, queue: str, role: str) -> AsyncIterator[None]:
        if self.processes > 0:
            address = self.client.service_client.config.target_host
            async with WorkerProcesses(
                self.processes, address, queue, role, self.database_url, self.out
            ) as procs:
                yield
            self.counts = procs.counts
            return
        self.counts = []
        if role == "floor":
            # The same workflow runner as bxb's worker: the floor differs only in the work.
            async with Worker(
                self.client,
                task_queue=queue,
                workflows=[BareWorkflow],
                activities=[noop],
                workflow_runner=WORKFLOW_RUNNER,
            ):
                yield
            return
        engine = create_engine(self.database_url, pool_size=40)
        events = PostgresEventStore(engine)
        async with build_worker(self.client, queue, create_sessionmaker(engine), events):
            yield
        await events.close()
        await engine.dispose()


async def floor(setup: Setup, n: int) -> dict[str, object]:
    """Seconds for N bare one-activity workflows, all started at once."""
    client = setup.client
    queue = f"floor-{uuid.uuid4().hex[:6]}"
    async with setup.workers(queue, "floor"):
        since = datetime.now(UTC)
        cpu = cpu_seconds()
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
        elapsed = time.perf_counter() - started
        cpu_used = cpu_between(cpu, cpu_seconds())
    history = await history_figures(client, queue, since, n, HISTORY_LIMIT)
    return {
        "s": elapsed,
        "cpu_s": cpu_used,
        "history": history,
        "process_activities": setup.counts,
    }


async def seed(database_url: str, n: int) -> tuple[Organization, PlanSnapshot, list[Customer]]:
    engine = create_engine(database_url, pool_size=5)
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
    async with transaction(sessions) as session:
        # As the API does: workflows carry the stored snapshot's key to their activities.
        plan = await session.merge(plan)
        await session.refresh(plan, ["charges", "fixed_charges", "usage_thresholds"])
        snapshot = await pinned_snapshot(session, plan)
    await engine.dispose()
    return org, snapshot, customers


async def invoice_counts(database_url: str, organization_id: uuid.UUID) -> dict[str, int]:
    """Invoices, and (subscription, period) pairs with more than one: duplicates."""
    engine = create_engine(database_url, pool_size=1)
    async with create_sessionmaker(engine)() as session:
        total = await session.scalar(
            select(func.count())
            .select_from(Invoice)
            .where(Invoice.organization_id == organization_id)
        )
        per_period = (
            select(func.count().label("n"))
            .where(Invoice.organization_id == organization_id)
            .group_by(Invoice.subscription_id, Invoice.period_start, Invoice.period_end)
            .subquery()
        )
        periods = await session.scalar(select(func.count()).select_from(per_period))
        duplicated = await session.scalar(
            select(func.count()).select_from(per_period).where(per_period.c.n > 1)
        )
    await engine.dispose()
    return {
        "invoices": int(total or 0),
        "subscription_periods": int(periods or 0),
        "duplicated_periods": int(duplicated or 0),
    }


async def cycle(setup: Setup, n: int) -> dict[str, object]:
    client = setup.client
    org, snapshot, customers = await seed(setup.database_url, n)
    queue = f"bxb-{uuid.uuid4().hex[:6]}"
    async with setup.workers(queue, "bxb"):
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
        setup_s = time.perf_counter() - setup_started
        ids = [workflow_id(org.id, f"sub_{c.external_id}") for c in customers]
        since = datetime.now(UTC)
        cpu = cpu_seconds()
        started = time.perf_counter()
        failures = await advance_workflows(
            client, ids, START + timedelta(days=31), timedelta(minutes=30)
        )
        elapsed = time.perf_counter() - started
        cpu_used = cpu_between(cpu, cpu_seconds())
    history = await history_figures(client, queue, since, n, HISTORY_LIMIT)
    return {
        "setup_s": setup_s,
        "s": elapsed,
        "errors": len(failures),
        "cpu_s": cpu_used,
        "history": history,
        "process_activities": setup.counts,
        **await invoice_counts(setup.database_url, org.id),
    }


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def main(n: int, processes: int) -> dict[str, object]:
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bxb-cycle-") as data:
        postgres = EmbeddedPostgres(Path(data), free_port())  # durable, as `bxb up` runs it
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
                setup = Setup(env.client, postgres.url, processes, Path(data))
                base = await floor(setup, n)
                result = await cycle(setup, n)
            finally:
                await env.shutdown()
        finally:
            postgres.stop()
    cycle_s, floor_s = float(result["s"]), float(base["s"])  # type: ignore[arg-type]
    per_invoice_ms = 1000 * cycle_s / n
    per_workflow_ms = 1000 * floor_s / n
    return {
        "benchmark": "billing_cycle",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "subscriptions": n,
        "worker_processes": processes,
        "invoices": result["invoices"],
        "subscription_periods": result["subscription_periods"],
        "duplicated_periods": result["duplicated_periods"],
        "errors": result["errors"],
        "setup_s": round(float(result["setup_s"]), 2),  # type: ignore[arg-type]
        "cycle_s": round(cycle_s, 2),
        "invoices_per_s": round(n / cycle_s, 1),
        "floor_s": round(floor_s, 2),
        "floor_workflows_per_s": round(n / floor_s, 1),
        "per_invoice_ms": round(per_invoice_ms, 3),
        "floor_per_workflow_ms": round(per_workflow_ms, 3),
        "ratio_to_floor": round(per_invoice_ms / per_workflow_ms, 2),
        "cycle_cpu_s": result["cpu_s"],
        "floor_cpu_s": base["cpu_s"],
        "cycle_history_per_invoice": result["history"],
        "floor_history_per_workflow": base["history"],
        "cycle_process_activities": result["process_activities"],
        "floor_process_activities": base["process_activities"],
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscriptions", type=int, default=1_000)
    parser.add_argument("--worker-processes", type=int, default=0, help="0: in the bench's own")
    parser.add_argument("--results-dir", type=Path, default=RESULTS)
    args = parser.parse_args()
    figures = asyncio.run(main(args.subscriptions, args.worker_processes))
    args.results_dir.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"billing_cycle-{stamp}.json"
    (args.results_dir / name).write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures))
