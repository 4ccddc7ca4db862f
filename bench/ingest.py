"""Event ingestion over HTTP: events/s and latency, per store, against a bare-endpoint ceiling.

    .venv/bin/python bench/ingest.py [--duration 8] [--quick]

What runs, all on loopback:

- an embedded PostgreSQL with the settings `bxb up` uses (durable: fsync and synchronous
  commit on), migrated, with one organization and a `sum_agg` billable metric;
- the API as `bxb api` serves it (uvicorn with uvloop and httptools, JSON logs at INFO),
  in its own processes, with 1 and with 2 worker processes;
- the same server stack around a bare FastAPI endpoint (same middleware, no database):
  the ceiling this machine allows, measured in the same run;
- the floor (`postgres-floor`): PostgreSQL's own insert rate, the same rows of the same
  batches inserted straight through asyncpg with the event writer's statement, at the
  same concurrency and durability, with no HTTP and no bxb in between; each PostgreSQL
  batch figure is also given as a fraction of it (and of the bare ceiling);
- for chDB, one worker (chDB runs one engine per process and owns its data directory);
- the rate limiter off and on (issue 12; bench/rate_limiter.py): events/s on over off,
  and the limiter's own cost per request; the run exits non-zero above 5%;
- with tracing on (`postgres-traced`): the same API exporting every span by OTLP/HTTP to a
  sink in its own process that reads and discards them (docs/tracing.md), against the
  `postgres` figures of the same run, where tracing is off as by default; then keeping one
  trace in a hundred (`-sampled`), and with the events routes left out (`-no-events`);
- with the Temporal dev server and a worker, the instant-fee scenario (issue 10): every
  event of a subscription with a pay-in-advance charge (bench/usage_reactions.py);
- a lean keep-alive HTTP/1.1 load generator (asyncio streams on uvloop) with bounded
  concurrency, each scenario bounded in time and in requests: single events
  (POST /events) and batches of 100 (POST /events/batch);

The load generator shares the machine's cores with the servers and PostgreSQL, so read
each figure against the ceiling of the same run. It prints one JSON line and writes
bench/results/ingest-<UTC timestamp>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))  # sibling scripts import as top-level modules

from fastapi import FastAPI, Request  # noqa: E402  (after the path tweak above)
from fastapi.responses import JSONResponse  # noqa: E402

BATCH_SIZE = 100
SINGLE_CONCURRENCY = 32
BATCH_CONCURRENCY = 16
MAX_REQUESTS = 200_000  # a bound on top of the time bound
TIMESTAMP = int(time.time()) - 3600
# Tracing on, with the two knobs docs/tracing.md suggests for ingestion at volume: keep one
# trace in a hundred, or leave the events routes out of tracing.
SAMPLED = {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.01"}
NO_EVENTS = {"OTEL_PYTHON_FASTAPI_EXCLUDED_URLS": "/health,/ready,/metrics,/api/v1/events"}


# --- the servers (run in child processes) ------------------------------------------------------


def bxb_app() -> FastAPI:
    """The real application, exactly as `bxb api` serves it in each process."""
    from bxb.api.app import create_served_app

    return create_served_app()


def bare_app() -> FastAPI:
    """The same stack (uvicorn, FastAPI, bxb's middleware, JSON logs) with no database."""
    from bxb.api.middleware import RequestContextMiddleware
    from bxb.core.logging import configure_logging
    from bxb.core.settings import Settings

    settings = Settings()
    configure_logging(settings.log_level)
    app = FastAPI()
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes)

    @app.post("/api/v1/events")
    @app.post("/api/v1/events/batch")
    async def ingest(request: Request) -> JSONResponse:
        payload = json.loads(await request.body())
        return JSONResponse({"ok": len(payload)})

    return app


def serve(
    app: str,
    port: int,
    workers: int,
    module: str = "bench.ingest",
    graceful_shutdown_s: int | None = None,
) -> None:
    """Serve `module`'s app factory `app` (run by `server` in a child process)."""
    import uvicorn

    uvicorn.run(
        f"{module}:{app}",
        factory=True,
        host="127.0.0.1",
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=graceful_shutdown_s,
    )


@contextlib.contextmanager
def server(
    app: str,
    workers: int,
    env: dict[str, str],
    log: Path,
    script: str = __file__,
    start_timeout_s: float = 60,
) -> Iterator[str]:
    """`script serve <app> <port> <workers>` in a child process, until it listens."""
    port = _free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, script, "serve", app, str(port), str(workers)],
            env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
            stdout=out,
            stderr=out,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_port(port, process, start_timeout_s)
        SERVER_PIDS[url] = process.pid
        yield url
    finally:
        SERVER_PIDS.pop(url, None)
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(15)


# The process serving each URL, to read the CPU time it spends per request.
SERVER_PIDS: dict[str, int] = {}


def server_cpu_seconds(url: str) -> float:
    """CPU time (user + system) of the server at url and its worker processes so far.

    Throughput on a machine shared with other work moves with their load; the CPU the API
    spends per request does much less, so the two are read side by side.
    """
    root = SERVER_PIDS[url]
    return sum(_cpu_seconds(pid) for pid in [root, *_children(root)])


def _cpu_seconds(pid: int) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:  # exited meanwhile
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()  # after the command name; fields 14, 15 of proc(5)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(FileNotFoundError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                found += [int(child), *_children(int(child))]
    return found


def nearest_rank(sorted_values: list[float], p: float, scale: float = 1) -> float:
    """The p-quantile of sorted values by nearest rank, times `scale`, to two decimals
    (0 for no values): every benchmark's percentiles."""
    if not sorted_values:
        return 0.0
    return round(sorted_values[min(len(sorted_values) - 1, int(p * len(sorted_values)))] * scale, 2)


def write_results(name: str, figures: dict[str, Any], results_dir: Path) -> Path:
    """Write `results_dir/<name>-<UTC timestamp>.json` and print the figures as the last
    line of stdout (the conventions of bench/README.md)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = results_dir / f"{name}-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures))
    return out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server exited during start-up")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("the server did not listen in time")


@contextlib.contextmanager
def otlp_sink(log: Path) -> Iterator[str]:
    """A collector stand-in in its own process: reads each export, answers 200."""
    port = _free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, __file__, "sink", str(port)], stdout=out, stderr=out
        )
    try:
        _wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(30)


def serve_sink(port: int) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Sink(BaseHTTPRequestHandler):
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    ThreadingHTTPServer(("127.0.0.1", port), Sink).serve_forever()


# --- the database ------------------------------------------------------------------------------


@dataclass
class Database:
    url: str
    api_key: str
    organization_id: uuid.UUID | None = None


@contextlib.asynccontextmanager
async def database(data_dir: Path) -> AsyncIterator[Database]:
    from bxb.core.db import create_engine, create_sessionmaker, transaction
    from bxb.core.embedded import EmbeddedPostgres
    from bxb.core.migrate import upgrade
    from bxb.core.organizations import create_organization
    from bxb.models import BillableMetric

    postgres = EmbeddedPostgres(data_dir, _free_port(), durable=True)
    await postgres.start()
    try:
        await upgrade(postgres.url)
        engine = create_engine(postgres.url, pool_size=1)
        async with transaction(create_sessionmaker(engine)) as session:
            org, issued = await create_organization(session, "Bench")
            session.add(
                BillableMetric(
                    organization_id=org.id,
                    code="storage",
                    name="Storage",
                    aggregation_type="sum_agg",
                    field_name="gb",
                )
            )
        await engine.dispose()
        yield Database(postgres.url, issued.plaintext, org.id)
    finally:
        postgres.stop()


async def _connect(url: str) -> Any:
    import asyncpg

    host_port = url.split("@", 1)[1].split("/", 1)[0]
    host, port = host_port.split(":")
    return await asyncpg.connect(host=host, port=int(port), user="postgres", database="bxb")


async def commits(url: str) -> int:
    """Transactions committed in the bxb database so far (to count inserts per event)."""
    conn = await _connect(url)
    try:
        return int(
            await conn.fetchval(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
            )
        )
    finally:
        await conn.close()


async def stored_events(url: str) -> int:
    """Rows in the events table (each scenario checks that what it acknowledged is there)."""
    conn = await _connect(url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM events"))
    finally:
        await conn.close()


# --- the load ----------------------------------------------------------------------------------


def single_body(prefix: str, n: int) -> bytes:
    return (
        f'{{"event":{{"transaction_id":"{prefix}-{n}","external_subscription_id":"sub-{n % 50}",'
        f'"code":"storage","timestamp":{TIMESTAMP + n % 3600},"properties":{{"gb":{n % 7}.5}}}}}}'
    ).encode()


def batch_body(prefix: str, n: int) -> bytes:
    events = ",".join(
        f'{{"transaction_id":"{prefix}-{n}-{i}","external_subscription_id":"sub-{i % 50}",'
        f'"code":"storage","timestamp":{TIMESTAMP + i},"properties":{{"gb":{i % 7}.5}}}}'
        for i in range(BATCH_SIZE)
    )
    return f'{{"events":[{events}]}}'.encode()


@dataclass
class LoadResult:
    requests: int
    events: int
    errors: int
    seconds: float
    events_per_second: float
    p50_ms: float
    p99_ms: float
    max_ms: float


class Connection:
    """A minimal HTTP/1.1 keep-alive client: one request at a time on one socket.

    aiohttp costs several times more CPU per request, and the load generator shares the
    cores with the servers under test; this one does only what the benchmark needs.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, url: str) -> Connection:
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        return cls(reader, writer)

    async def post(self, head: bytes, body: bytes) -> int:
        self.writer.write(head + str(len(body)).encode() + b"\r\n\r\n" + body)
        status_and_headers = await self.reader.readuntil(b"\r\n\r\n")
        status = int(status_and_headers[9:12])
        length = 0
        for line in status_and_headers.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


async def load(
    url: str,
    api_key: str,
    path: str,
    body: Callable[[str, int], bytes],
    events_per_request: int,
    concurrency: int,
    duration: float,
) -> LoadResult:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {api_key}\r\n"
        "Content-Type: application/json\r\nContent-Length: "
    ).encode()
    latencies: list[float] = []
    errors = 0
    counter = 0
    prefix = uuid.uuid4().hex[:12]
    connections = [await Connection.open(url) for _ in range(concurrency)]
    deadline = time.perf_counter() + duration

    async def user(connection: Connection) -> None:
        nonlocal errors, counter
        while time.perf_counter() < deadline and counter < MAX_REQUESTS:
            counter += 1
            data = body(prefix, counter)
            started = time.perf_counter()
            if await connection.post(head, data) != 200:
                errors += 1
                continue
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(user(c) for c in connections))
    seconds = time.perf_counter() - started
    for connection in connections:
        connection.close()
    return _result(latencies, errors, seconds, events_per_request)


def _result(
    latencies: list[float], errors: int, seconds: float, events_per_request: int
) -> LoadResult:
    latencies.sort()

    def percentile(p: float) -> float:
        return nearest_rank(latencies, p, scale=1000)

    events = len(latencies) * events_per_request
    return LoadResult(
        requests=len(latencies),
        events=events,
        errors=errors,
        seconds=round(seconds, 2),
        events_per_second=round(events / seconds),
        p50_ms=percentile(0.50),
        p99_ms=percentile(0.99),
        max_ms=round(latencies[-1] * 1000, 2) if latencies else 0.0,
    )


def batch_rows(prefix: str, n: int) -> tuple[Any, ...]:
    """The rows of batch_body(prefix, n), as the event writer binds them to its statement."""
    properties = [{"gb": i % 7 + 0.5} for i in range(BATCH_SIZE)]
    return (
        [f"{prefix}-{n}-{i}" for i in range(BATCH_SIZE)],
        [f"sub-{i % 50}" for i in range(BATCH_SIZE)],
        ["storage"] * BATCH_SIZE,
        [_BATCH_TIMESTAMPS[i] for i in range(BATCH_SIZE)],
        json.dumps(properties),
        [None] * BATCH_SIZE,
    )


_BATCH_TIMESTAMPS = [datetime.fromtimestamp(TIMESTAMP + i, UTC) for i in range(BATCH_SIZE)]


async def floor_load(db: Database, concurrency: int, duration: float) -> LoadResult:
    """Batches of BATCH_SIZE rows straight into PostgreSQL: the writer's own statement
    (bxb.events.postgres_store), one autocommitted statement per batch as the writer sends
    it, on `concurrency` connections. The rows are built like a batch body's events."""
    from bxb.events.postgres_store import _INSERT

    latencies: list[float] = []
    errors = 0
    counter = 0
    prefix = "floor-" + uuid.uuid4().hex[:12]
    connections = [await _connect(db.url) for _ in range(concurrency)]
    deadline = time.perf_counter() + duration

    async def user(conn: Any) -> None:
        nonlocal errors, counter
        while time.perf_counter() < deadline and counter < MAX_REQUESTS:
            counter += 1
            rows = batch_rows(prefix, counter)
            started = time.perf_counter()
            try:
                inserted = await conn.fetch(_INSERT, db.organization_id, *rows, datetime.now(UTC))
            except Exception:  # counted; the figure says how many
                errors += 1
                continue
            if len(inserted) != BATCH_SIZE:
                errors += 1
                continue
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    try:
        await asyncio.gather(*(user(c) for c in connections))
    finally:
        for conn in connections:
            await conn.close()
    return _result(latencies, errors, time.perf_counter() - started, BATCH_SIZE)


async def floor_scenario(db: Database, duration: float, warmup: float) -> dict[str, Any]:
    await floor_load(db, BATCH_CONCURRENCY, warmup)
    before = await stored_events(db.url)
    result = await floor_load(db, BATCH_CONCURRENCY, duration)
    entry = asdict(result) | {
        "concurrency": BATCH_CONCURRENCY,
        "stored": await stored_events(db.url) - before,
    }
    print(f"{'postgres-floor':<14} batch  {json.dumps(entry)}", file=sys.stderr)
    return {"batch": entry}


def fractions(figures: dict[str, Any]) -> dict[str, Any]:
    """Each PostgreSQL scenario's batch events/s over the floor and over the bare ceiling."""
    floor = figures.get("postgres-floor", {}).get("batch", {}).get("events_per_second")
    out: dict[str, Any] = {}
    for name, result in figures.items():
        if not name.startswith("postgres") or name == "postgres-floor":
            continue
        batch = result.get("batch", {}).get("events_per_second")
        if not batch:
            continue
        bare = figures.get("bare-2w" if name.endswith("-2w") else "bare", {})
        ceiling = bare.get("batch", {}).get("events_per_second")
        out[name] = {
            "batch_events_per_second": batch,
            "of_floor": round(batch / floor, 3) if floor else None,
            "of_bare": round(batch / ceiling, 3) if ceiling else None,
        }
    return out


async def scenario(
    name: str, url: str, db: Database, duration: float, warmup: float
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for mode, path, body, per_request, concurrency in (
        ("single", "/api/v1/events", single_body, 1, SINGLE_CONCURRENCY),
        ("batch", "/api/v1/events/batch", batch_body, BATCH_SIZE, BATCH_CONCURRENCY),
    ):
        await load(url, db.api_key, path, body, per_request, concurrency, warmup)
        stored_before = await stored_events(db.url)
        before = await commits(db.url)
        cpu_before = server_cpu_seconds(url)
        result = await load(url, db.api_key, path, body, per_request, concurrency, duration)
        cpu = server_cpu_seconds(url) - cpu_before
        committed = await commits(db.url) - before
        entry = asdict(result) | {"concurrency": concurrency}
        if not name.startswith("bare"):
            entry["stored"] = await stored_events(db.url) - stored_before
        if result.requests:
            entry["api_cpu_us_per_request"] = round(cpu * 1e6 / result.requests)
        if not name.startswith(("bare", "chdb")) and result.events:
            # Every transaction in the database during the run: flushes, plus a few lookups.
            entry["events_per_commit"] = round(result.events / max(committed, 1), 1)
        results[mode] = entry
        print(f"{name:<14} {mode:<6} {json.dumps(entry)}", file=sys.stderr)
    return results


async def instant_scenario(
    db: Database, env: dict[str, str], log: Path, duration: float, warmup: float
) -> dict[str, Any]:
    """Every event of a subscription with a pay-in-advance charge (bench/usage_reactions.py)."""
    import usage_reactions

    return await usage_reactions.run(db, env, log, duration, warmup, load, server, ROOT)


async def main(
    duration: float, warmup: float, quick: bool, only: set[str] | None = None
) -> dict[str, Any]:
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    scratch = Path(tempfile.mkdtemp(prefix="bxb-bench-"))
    log = scratch / "servers.log"
    figures: dict[str, Any] = {}
    async with database(scratch) as db:
        env = {
            "DATABASE_URL": db.url,
            "TEMPORAL_ADDRESS": f"127.0.0.1:{_free_port()}",
            "BXB_LOG_LEVEL": "INFO",
        }
        chdb = {"CLICKHOUSE_URL": f"chdb://{scratch / 'chdb'}"}
        if only is None or "postgres-floor" in only:
            figures["postgres-floor"] = await floor_scenario(db, duration, warmup)
        plans: list[tuple[str, str, int, dict[str, str]]] = [
            ("bare", "bare_app", 1, {}),
            ("postgres", "bxb_app", 1, {}),
            # The cost of API logs (issue 12): the same server with them off.
            ("postgres-no-api-logs", "bxb_app", 1, {"BXB_API_LOGS": "false"}),
        ]
        if not quick:
            plans += [
                ("bare-2w", "bare_app", 2, {}),
                ("postgres-2w", "bxb_app", 2, {}),
                ("chdb", "bxb_app", 1, chdb),
                ("postgres-traced", "bxb_app", 1, {}),
                ("postgres-traced-sampled", "bxb_app", 1, SAMPLED),
                ("postgres-traced-no-events", "bxb_app", 1, NO_EVENTS),
            ]
        for name, app, workers, extra in plans:
            if only is not None and name not in only:
                continue
            with contextlib.ExitStack() as stack:
                if "-traced" in name:
                    endpoint = stack.enter_context(otlp_sink(log))
                    extra = extra | {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}
                url = stack.enter_context(server(app, workers, env | extra, log))
                figures[name] = await scenario(name, url, db, duration, warmup)
        if only is None or "limiter" in only:
            import rate_limiter

            figures["limiter"] = await rate_limiter.run(
                db, env, log, duration, warmup, sys.modules[__name__]
            )
        if only is None or "instant" in only:
            figures["instant"] = await instant_scenario(db, env, log, duration, warmup)
    shutil.rmtree(scratch, ignore_errors=True)  # kept (with servers.log) only on failure
    return {
        "benchmark": "ingest",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "load_average_at_start": load_at_start,
        "duration_s": duration,
        "batch_size": BATCH_SIZE,
        "batch_vs_floor": fractions(figures),
        "results": figures,
    }


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per scenario")
    parser.add_argument("--warmup", type=float, default=1.5, help="seconds before measuring")
    parser.add_argument("--quick", action="store_true", help="bare and postgres, 1 worker only")
    parser.add_argument("--only", help="comma-separated scenario names (e.g. bare,postgres-2w)")
    parser.add_argument("--results-dir", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    import uvloop

    only = set(args.only.split(",")) if args.only else None
    figures = uvloop.run(main(args.duration, args.warmup, args.quick, only))
    write_results("ingest", figures, args.results_dir)
    if "limiter" in figures["results"]:
        import rate_limiter

        failed = rate_limiter.below_floor(figures["results"]["limiter"])
        if failed:
            sys.exit(f"the rate limiter costs more than 5% of ingestion ({', '.join(failed)})")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif len(sys.argv) == 3 and sys.argv[1] == "sink":
        serve_sink(int(sys.argv[2]))
    else:
        run()
