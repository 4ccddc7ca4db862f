"""The API under mixed load at a paced rate: latency per kind of request, against a floor.

    .venv/bin/python bench/api_load.py [--rate 1000] [--duration 20] [--workers 1,2] [--quick]

What runs, all on loopback:

- an embedded PostgreSQL with `bxb up`'s durable settings (fsync and synchronous commit on),
  migrated, with one organization seeded through the real tables by
  bench/analytics_seed.py: CUSTOMERS customers (70 % USD, 30 % EUR), 8 monthly plans with
  a usage charge (`api_calls`, sum), one subscription each (80 % active), INVOICES invoices
  over 24 months with their fees and payments;
- the Temporal dev server and a bxb worker (bench/usage_reactions.py starts them), and
  LIVE customers with a subscription created through the API, so their workflows run:
  current usage asks them, and their events are what current usage adds up;
- the API as `bxb api` serves it (uvicorn with uvloop and httptools, JSON logs at INFO),
  with 1 and with 2 worker processes (bench/ingest.py's `server`);
- the floor: the same server stack (uvicorn, FastAPI, bxb's request middleware, JSON logs)
  around a bare endpoint that answers every path with a small JSON body, no database
  (bench/ingest.py's bare server, with a catch-all route), at the same rate and mix;
- an open-loop client (bench/ingest.py's keep-alive HTTP/1.1 connections on uvloop):
  request i is due at start + i / rate whatever the server is doing; it takes a free
  connection from a bounded pool (POOL) and its latency is counted from when it was due,
  so a server that falls behind shows it as queueing, not as a slower client. Each run is
  bounded in count (rate x duration, at most MAX_REQUESTS) and in time (a request over
  TIMEOUT_S is a timeout, the connection is replaced).

The mix (MIX, weights out of 100) is what a dashboard and an integration send together:
reads of customers, invoices, subscriptions, plans and metrics, current usage, customer
creations and updates, single events and batches of EVENTS_PER_BATCH. The same seeded
sequence of requests is sent to every server. Figures per kind and overall: p50, p95,
p99, max, errors (non-2xx, by status) and timeouts, the achieved rate, the API's CPU per
request, and the load average. Prints one JSON line and writes
bench/results/api_load-<UTC timestamp>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))  # sibling scripts import as top-level modules

import analytics_seed  # noqa: E402  (after the path tweak above)
import ingest  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from fastapi.responses import JSONResponse  # noqa: E402

CUSTOMERS = 2000
INVOICES = 6000
LIVE = 100  # customers with a subscription created through the API (a running workflow)
RATE = 1000
POOL = 256  # connections of the client; a request waits for a free one (counted)
TIMEOUT_S = 5.0
MAX_REQUESTS = 300_000
EVENTS_PER_BATCH = 10
TARGET_P95_MS = 50.0

# Weights out of 100: what a dashboard (lists, pages, details, usage) and an integration
# (events, customer upserts, lookups) send together.
MIX: dict[str, int] = {
    "list_customers": 12,  # GET /customers?page=n&per_page=20
    "get_customer": 12,  # GET /customers/{external_id}
    "list_invoices": 10,  # GET /invoices?external_customer_id=..&status=finalized, or by payment
    "get_invoice": 10,  # GET /invoices/{lago_id}
    "list_subscriptions": 6,  # GET /subscriptions?external_customer_id=.. or a page of all
    "get_subscription": 6,  # GET /subscriptions/{external_id}
    "current_usage": 6,  # GET /customers/{id}/current_usage?external_subscription_id=..
    "create_customer": 3,  # POST /customers (a new external id)
    "update_customer": 3,  # POST /customers (an existing one, a new name)
    "event": 15,  # POST /events
    "event_batch": 5,  # POST /events/batch (EVENTS_PER_BATCH events)
    "list_plans": 3,  # GET /plans
    "get_plan": 3,  # GET /plans/{code}
    "list_metrics": 3,  # GET /billable_metrics
    "get_metric": 3,  # GET /billable_metrics/{code}
}
assert sum(MIX.values()) == 100


# --- the servers (run in child processes) ------------------------------------------------------


def bxb_app() -> FastAPI:
    return ingest.bxb_app()


def bare_app() -> FastAPI:
    """bench/ingest.py's bare server, answering every other path too (a small JSON body)."""
    app = ingest.bare_app()

    @app.api_route("/{path:path}", methods=["GET", "POST"])
    async def anything(path: str) -> JSONResponse:
        return JSONResponse({"ok": path})

    return app


def serve(app: str, port: int, workers: int) -> None:
    # A server left with a backlog: don't wait for it.
    ingest.serve(app, port, workers, module="bench.api_load", graceful_shutdown_s=2)


def server(
    app: str, workers: int, env: dict[str, str], log: Path
) -> contextlib.AbstractContextManager[str]:
    """bench/ingest.py's `server`, serving this module's apps."""
    return ingest.server(app, workers, env, log, script=__file__)


# --- the organization --------------------------------------------------------------------------


@dataclass
class Org:
    url: str  # the database's
    api_key: str
    organization_id: uuid.UUID
    customers: list[str] = field(default_factory=list)  # external ids
    subscriptions: list[str] = field(default_factory=list)  # active, external ids
    invoices: list[str] = field(default_factory=list)  # lago ids
    plans: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    seed: dict[str, Any] = field(default_factory=dict)


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@contextlib.asynccontextmanager
async def database(data_dir: Path, customers: int, invoices: int) -> AsyncIterator[Org]:
    import asyncpg

    from bxb.core.db import create_engine, create_sessionmaker, transaction
    from bxb.core.embedded import EmbeddedPostgres
    from bxb.core.migrate import upgrade
    from bxb.core.organizations import create_organization

    postgres = EmbeddedPostgres(data_dir, ingest._free_port(), durable=True)
    await postgres.start()
    try:
        await upgrade(postgres.url)
        engine = create_engine(postgres.url, pool_size=1)
        async with transaction(create_sessionmaker(engine)) as session:
            org, issued = await create_organization(session, "Bench API load")
        await engine.dispose()
        conn = await asyncpg.connect(_dsn(postgres.url))
        try:
            sizes = analytics_seed.Sizes(customers, invoices)
            seeded = await analytics_seed.seed(conn, org.id, sizes)
            found = Org(postgres.url, issued.plaintext, org.id, seed=seeded)
            found.customers = [r[0] for r in await conn.fetch("SELECT external_id FROM customers")]
            found.subscriptions = [
                r[0]
                for r in await conn.fetch(
                    "SELECT external_id FROM subscriptions WHERE status = 'active'"
                )
            ]
            found.invoices = [str(r[0]) for r in await conn.fetch("SELECT id FROM invoices")]
            found.plans = [r[0] for r in await conn.fetch("SELECT code FROM plans")]
            found.metrics = [r[0] for r in await conn.fetch("SELECT code FROM billable_metrics")]
        finally:
            await conn.close()
        yield found
    finally:
        postgres.stop()


def live_customer(n: int) -> str:
    return f"live_cus_{n}"


def live_subscription(n: int) -> str:
    return f"live_sub_{n}"


async def set_up_live(url: str, api_key: str, live: int) -> dict[str, Any]:
    """LIVE customers, each with a subscription on pro_usd started an hour ago, and a few
    events each (through the API: the subscriptions' workflows start)."""
    import httpx

    started = time.perf_counter()
    at = (datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)).isoformat()
    headers = {"Authorization": f"Bearer {api_key}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as http:

        async def ok(path: str, body: dict[str, Any]) -> None:
            response = await http.post(path, json=body)
            assert response.status_code == 200, response.text

        async def one(n: int) -> None:
            customer = {"external_id": live_customer(n), "name": f"Live {n}", "currency": "USD"}
            await ok("/api/v1/customers", {"customer": customer})
            subscription = {
                "external_customer_id": live_customer(n),
                "plan_code": "pro_usd",
                "external_id": live_subscription(n),
                "subscription_at": at,
            }
            await ok("/api/v1/subscriptions", {"subscription": subscription})

        limit = asyncio.Semaphore(8)

        async def bounded(n: int) -> None:
            async with limit:
                await one(n)

        await asyncio.gather(*(bounded(n) for n in range(live)))
        stamp = int(time.time()) - 600
        events = [
            {
                "transaction_id": f"seed-{n}-{i}",
                "external_subscription_id": live_subscription(n),
                "code": "api_calls",
                "timestamp": stamp + i,
                "properties": {"calls": i + 1},
            }
            for n in range(live)
            for i in range(5)
        ]
        for lo in range(0, len(events), 100):
            await ok("/api/v1/events/batch", {"events": events[lo : lo + 100]})
    return {"live_subscriptions": live, "seconds": round(time.perf_counter() - started, 1)}


# --- the requests ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    kind: str
    head: bytes  # up to "Content-Length: "
    body: bytes


def plan_calls(org: Org, live: int, count: int, seed: int = 14) -> list[Call]:
    """The same sequence of `count` requests for every server (seeded)."""
    rng = random.Random(seed)
    auth = f"Authorization: Bearer {org.api_key}\r\n"
    prefix = uuid.uuid4().hex[:10]
    stamp = int(time.time()) - 300

    def get(path: str) -> bytes:
        return f"GET /api/v1{path} HTTP/1.1\r\nHost: bench\r\n{auth}Content-Length: ".encode()

    def post(path: str) -> bytes:
        return (
            f"POST /api/v1{path} HTTP/1.1\r\nHost: bench\r\n{auth}"
            "Content-Type: application/json\r\nContent-Length: "
        ).encode()

    def event(n: int, i: int) -> dict[str, Any]:
        return {
            "transaction_id": f"{prefix}-{n}-{i}",
            "external_subscription_id": live_subscription(rng.randrange(live)),
            "code": "api_calls",
            "timestamp": stamp + rng.randrange(240),
            "properties": {"calls": 1 + rng.randrange(20)},
        }

    pages = max(1, len(org.customers) // 20)
    kinds = list(MIX)
    weights = list(MIX.values())
    calls: list[Call] = []
    for n, kind in enumerate(rng.choices(kinds, weights, k=count)):
        body = b""
        if kind == "list_customers":
            head = get(f"/customers?page={1 + rng.randrange(pages)}&per_page=20")
        elif kind == "get_customer":
            head = get(f"/customers/{rng.choice(org.customers)}")
        elif kind == "list_invoices":
            customer = rng.choice(org.customers)
            head = get(
                f"/invoices?external_customer_id={customer}&status=finalized"
                if rng.random() < 0.7
                else f"/invoices?payment_status=pending&page={1 + rng.randrange(5)}&per_page=20"
            )
        elif kind == "get_invoice":
            head = get(f"/invoices/{rng.choice(org.invoices)}")
        elif kind == "list_subscriptions":
            head = get(
                f"/subscriptions?external_customer_id={rng.choice(org.customers)}"
                if rng.random() < 0.7
                else f"/subscriptions?page={1 + rng.randrange(pages)}&per_page=20"
            )
        elif kind == "get_subscription":
            head = get(f"/subscriptions/{rng.choice(org.subscriptions)}")
        elif kind == "current_usage":
            k = rng.randrange(live)
            head = get(
                f"/customers/{live_customer(k)}/current_usage"
                f"?external_subscription_id={live_subscription(k)}"
            )
        elif kind == "create_customer":
            head = post("/customers")
            created = {"external_id": f"new_{prefix}_{n}", "name": f"New {n}", "currency": "USD"}
            body = json.dumps({"customer": created}).encode()
        elif kind == "update_customer":
            head = post("/customers")
            renamed = {"external_id": rng.choice(org.customers), "name": f"Renamed {n}"}
            body = json.dumps({"customer": renamed}).encode()
        elif kind == "event":
            head = post("/events")
            body = json.dumps({"event": event(n, 0)}).encode()
        elif kind == "event_batch":
            head = post("/events/batch")
            body = json.dumps({"events": [event(n, i) for i in range(EVENTS_PER_BATCH)]}).encode()
        elif kind == "list_plans":
            head = get("/plans")
        elif kind == "get_plan":
            head = get(f"/plans/{rng.choice(org.plans)}")
        elif kind == "list_metrics":
            head = get("/billable_metrics")
        else:
            head = get(f"/billable_metrics/{rng.choice(org.metrics)}")
        calls.append(Call(kind, head, body))
    return calls


# --- the open-loop client ----------------------------------------------------------------------


@dataclass
class Outcomes:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, dict[str, int]] = field(default_factory=dict)  # kind -> status -> count
    timeouts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    late_starts: int = 0  # requests the client itself sent over 10 ms after they were due


async def open_loop(
    url: str, calls: list[Call], rate: float, pool: int, wait_s: float = TIMEOUT_S
) -> Outcomes:
    """Send calls[i] at start + i / rate on a free pooled connection; latency from when due."""
    out = Outcomes()
    free: asyncio.Queue[ingest.Connection] = asyncio.Queue()
    for _ in range(pool):
        free.put_nowait(await ingest.Connection.open(url))
    pending: set[asyncio.Task[None]] = set()

    async def one(call: Call, due: float) -> None:
        connection = await free.get()
        try:
            status = await asyncio.wait_for(connection.post(call.head, call.body), wait_s)
        except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
            connection.close()
            free.put_nowait(await ingest.Connection.open(url))
            if isinstance(exc, TimeoutError):
                out.timeouts[call.kind] = out.timeouts.get(call.kind, 0) + 1
            else:
                by_status = out.errors.setdefault(call.kind, {})
                by_status["connection"] = by_status.get("connection", 0) + 1
            return
        free.put_nowait(connection)
        if status >= 300:
            by_status = out.errors.setdefault(call.kind, {})
            by_status[str(status)] = by_status.get(str(status), 0) + 1
            return
        out.latencies.setdefault(call.kind, []).append(time.perf_counter() - due)

    started = time.perf_counter()
    for i, call in enumerate(calls[:MAX_REQUESTS]):
        due = started + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.010:
            out.late_starts += 1
        task = asyncio.create_task(one(call, due))
        pending.add(task)
        task.add_done_callback(pending.discard)
    if pending:
        await asyncio.wait(pending, timeout=wait_s * 4)
    for task in list(pending):  # still waiting for a connection: counted as unanswered
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    out.seconds = time.perf_counter() - started
    while not free.empty():
        free.get_nowait().close()
    return out


def _percentile(values: list[float], p: float) -> float:
    return ingest.nearest_rank(values, p, scale=1000)


def summarize(out: Outcomes, sent: int, rate: float) -> dict[str, Any]:
    def figures(values: list[float]) -> dict[str, Any]:
        values = sorted(values)
        return {
            "ok": len(values),
            "p50_ms": _percentile(values, 0.50),
            "p95_ms": _percentile(values, 0.95),
            "p99_ms": _percentile(values, 0.99),
            "max_ms": round(values[-1] * 1000, 2) if values else 0.0,
        }

    kinds: dict[str, Any] = {}
    for kind in MIX:
        entry = figures(out.latencies.get(kind, []))
        entry["errors"] = out.errors.get(kind, {})
        entry["timeouts"] = out.timeouts.get(kind, 0)
        if entry["ok"] or entry["errors"] or entry["timeouts"]:
            kinds[kind] = entry
    every = [v for values in out.latencies.values() for v in values]
    ok = len(every)
    errors = sum(sum(by_status.values()) for by_status in out.errors.values())
    overall = figures(every) | {
        "sent": sent,
        "errors": errors,
        "timeouts": sum(out.timeouts.values()),
        # Never sent: still waiting for a free connection when the run ended.
        "unanswered": sent - ok - errors - sum(out.timeouts.values()),
        "target_rate": rate,
        "achieved_rate": round(ok / out.seconds, 1) if out.seconds else 0.0,
        "seconds": round(out.seconds, 2),
        "client_late_starts": out.late_starts,
    }
    return {"overall": overall, "kinds": kinds}


async def measure(
    name: str, url: str, calls: list[Call], rate: float, warmup: float, wait_s: float
) -> dict[str, Any]:
    warm = int(rate * warmup)
    if warm:
        await open_loop(url, calls[-warm:], rate, POOL, wait_s)
    measured = calls[: len(calls) - warm] if warm else calls
    cpu_before = ingest.server_cpu_seconds(url)
    load_before = os.getloadavg()
    out = await open_loop(url, measured, rate, POOL, wait_s)
    cpu = ingest.server_cpu_seconds(url) - cpu_before
    result = summarize(out, len(measured), rate)
    ok = result["overall"]["ok"]
    result["overall"]["api_cpu_us_per_request"] = round(cpu * 1e6 / ok) if ok else 0
    result["loadavg"] = [round(x, 2) for x in (*load_before, *os.getloadavg())]
    overall = result["overall"]
    print(
        f"{name:<12} p50 {overall['p50_ms']} p95 {overall['p95_ms']} p99 {overall['p99_ms']} ms"
        f" rate {overall['achieved_rate']}/s errors {overall['errors']}"
        f" timeouts {overall['timeouts']}",
        file=sys.stderr,
    )
    return result


def rate_limits(rate: float) -> dict[str, str]:
    """Limits of ten times the load on every route class, per minute (the limiter stays on).

    The default limits (6,000 reads a minute per key: 100/s) refuse one key sending
    1,000 requests a second, as they should; an operator serving such a client raises that
    key's limits (the environment here, or PUT /api/v1/rate_limits per organization).
    """
    limit = str(int(rate * 60 * 10))
    return {
        "BXB_RATE_LIMIT_READS": limit,
        "BXB_RATE_LIMIT_WRITES": limit,
        "BXB_RATE_LIMIT_EVENTS": limit,
    }


# --- one kind at a time ------------------------------------------------------------------------


def _record_profile(pid: int, out: Path) -> subprocess.Popen[bytes]:
    """py-spy (a dev dependency) sampling process `pid` into `out` until interrupted."""
    out.parent.mkdir(parents=True, exist_ok=True)
    spy = str(Path(sys.executable).parent / "py-spy")
    argv = [spy, "record", "-p", str(pid), "-r", "250", "-f", "raw", "-o", str(out)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def serial(
    url: str, calls: list[Call], per_kind: int, profile_dir: Path | None
) -> dict[str, Any]:
    """Each kind's requests one at a time on one connection: the server's CPU per request
    and the latency with nothing queued, the least noisy figure of where the CPU goes.
    With `profile_dir`, py-spy records the server during each kind (raw stacks)."""
    pid = ingest.SERVER_PIDS[url]
    by_kind: dict[str, list[Call]] = {}
    for call in calls:
        by_kind.setdefault(call.kind, []).append(call)
    connection = await ingest.Connection.open(url)
    figures: dict[str, Any] = {}
    try:
        for kind in MIX:
            chosen = by_kind.get(kind, [])[: per_kind + 5]
            for call in chosen[:5]:  # warm the kind's statements and caches
                await connection.post(call.head, call.body)
            measured = chosen[5:]
            spy = None
            if profile_dir is not None:
                spy = _record_profile(pid, profile_dir / f"{kind}.txt")
                await asyncio.sleep(1.0)  # py-spy attached
            cpu_before = ingest.server_cpu_seconds(url)
            latencies: list[float] = []
            statuses: dict[str, int] = {}
            for call in measured:
                started = time.perf_counter()
                status = await connection.post(call.head, call.body)
                latencies.append(time.perf_counter() - started)
                if status >= 300:
                    statuses[str(status)] = statuses.get(str(status), 0) + 1
            cpu = ingest.server_cpu_seconds(url) - cpu_before
            if spy is not None:
                spy.send_signal(2)
                spy.wait(30)
            latencies.sort()
            figures[kind] = {
                "requests": len(measured),
                "cpu_us_per_request": round(cpu * 1e6 / len(measured)) if measured else 0,
                "p50_ms": _percentile(latencies, 0.50),
                "errors": statuses,
            }
    finally:
        connection.close()
    weights = sum(MIX.values())
    figures["mix_cpu_us_per_request"] = round(
        sum(MIX[k] * figures[k]["cpu_us_per_request"] for k in MIX if k in figures) / weights
    )
    print(
        f"serial: {figures['mix_cpu_us_per_request']} µs of CPU per request over the mix",
        file=sys.stderr,
    )
    return figures


# --- the run -----------------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> dict[str, Any]:
    import usage_reactions

    scratch = Path(tempfile.mkdtemp(prefix="bxb-api-load-"))
    log = scratch / "servers.log"
    figures: dict[str, Any] = {}
    count = int(args.rate * (args.duration + args.warmup))
    started = time.perf_counter()
    async with database(scratch, args.customers, args.invoices) as org:
        seeded_in = round(time.perf_counter() - started, 1)
        async with usage_reactions.temporal() as client:
            env = {
                "DATABASE_URL": org.url,
                "BXB_LOG_LEVEL": "INFO",
                "TEMPORAL_ADDRESS": client.service_client.config.target_host,
                "TEMPORAL_TASK_QUEUE": "bench",
            } | rate_limits(args.rate)
            with usage_reactions.worker(env, log, ROOT):
                with server("bxb_app", 1, env, log) as url:
                    live = await set_up_live(url, org.api_key, args.live)
                calls = plan_calls(org, args.live, count)
                if args.serial:
                    # Enough draws that the rarest kind (3 in 100) has its N plus 5 warm-ups;
                    # fresh ids for each server's writes, as below.
                    draws = max(args.serial * 60, 2000)
                    serial_calls = plan_calls(org, args.live, draws, seed=15)
                    with server("bare_app", 1, env, log) as url:
                        figures["serial_bare"] = await serial(url, serial_calls, args.serial, None)
                    serial_calls = plan_calls(org, args.live, draws, seed=15)
                    with server("bxb_app", 1, env, log) as url:
                        figures["serial_api"] = await serial(
                            url, serial_calls, args.serial, args.profile
                        )
                for workers in args.workers:
                    suffix = "" if workers == 1 else f"-{workers}w"
                    with server("bare_app", workers, env, log) as url:
                        figures[f"bare{suffix}"] = await measure(
                            f"bare{suffix}", url, calls, args.rate, args.warmup, args.timeout
                        )
                    # Fresh ids for the writes of each run (customers, events).
                    calls = plan_calls(org, args.live, count)
                    with server("bxb_app", workers, env, log) as url:
                        figures[f"api{suffix}"] = await measure(
                            f"api{suffix}", url, calls, args.rate, args.warmup, args.timeout
                        )
    shutil.rmtree(scratch, ignore_errors=True)
    for name, entry in figures.items():
        if name.startswith("api"):
            entry["p95_target_met"] = entry["overall"]["p95_ms"] < TARGET_P95_MS
    return {
        "benchmark": "api_load",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "rate": args.rate,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "pool": POOL,
        "timeout_s": args.timeout,
        "mix": MIX,
        "events_per_batch": EVENTS_PER_BATCH,
        "seed": org.seed | {"seconds_with_org": seeded_in},
        "live": live,
        "target_p95_ms": TARGET_P95_MS,
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
        "results": figures,
    }


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rate", type=float, default=RATE, help="requests per second")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds measured per run")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring")
    parser.add_argument("--workers", default="1,2", help="API processes to try, e.g. 1,2")
    parser.add_argument("--customers", type=int, default=CUSTOMERS)
    parser.add_argument("--invoices", type=int, default=INVOICES)
    parser.add_argument("--live", type=int, default=LIVE, help="subscriptions with workflows")
    parser.add_argument("--timeout", type=float, default=TIMEOUT_S, help="seconds per request")
    parser.add_argument("--quick", action="store_true", help="1 process, 10 s")
    parser.add_argument(
        "--serial",
        type=int,
        default=0,
        metavar="N",
        help="first, N requests of each kind one at a time (CPU per request per kind)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="DIR",
        help="with --serial: py-spy raw stacks of the API per kind, into DIR",
    )
    parser.add_argument("--results-dir", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    args.workers = [int(w) for w in args.workers.split(",") if w.strip() not in ("", "0")]
    if args.quick:
        args.workers, args.duration = [1], 10.0
    return args


def run() -> None:
    import uvloop

    args = parse()
    figures = uvloop.run(main(args))
    ingest.write_results("api_load", figures, args.results_dir)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        run()
