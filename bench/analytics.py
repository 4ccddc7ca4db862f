"""Analytics and dashboard endpoints over HTTP on a large ledger: p50/p95/p99 per endpoint.

    .venv/bin/python bench/analytics.py [--customers 100000] [--invoices 1000000]
        [--requests 200] [--data-dir DIR]

What runs, all on loopback:

- an embedded PostgreSQL with the settings `bxb up` uses, migrated, with one
  organization whose ledger bench/analytics_seed.py writes through the real tables
  (their triggers included): customers in two currencies, plans, subscriptions,
  invoices over 24 months with their fees, payments, voids, credit notes, MRR movements;
- the API as `bxb api` serves it (uvicorn, one process, JSON logs at INFO);
- for each endpoint in turn, a few filters it is asked with (currency, customer, months),
  one request at a time on a kept-alive connection, bounded in count and in time;
- the floor: a trivial authenticated GET (`/api/v1/organizations`) in the same run;
- then, for each endpoint over the target (p95 above --target-ms), a second pass with
  auto_explain logging every statement (EXPLAIN ANALYZE): statements and PostgreSQL time
  per request, and the plans of the slowest, from the PostgreSQL log, go into the results.

An endpoint the application does not route (not in its OpenAPI document) is reported as
missing. With --data-dir, the seeded database is kept there and reused by later runs of
the same sizes (migrations added since are applied; MRR movements seeded if their table
appeared). It prints one JSON line and writes bench/results/analytics-<UTC timestamp>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))  # sibling scripts import as top-level modules

import analytics_seed  # noqa: E402  (after the path tweak above)
import ingest  # noqa: E402

TARGET_MS = 100.0
FLOOR = "floor"
MAX_SECONDS_PER_ENDPOINT = 45.0


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    queries: tuple[str, ...]  # {customer}, {month_ago}, {today} filled per request


_C = "?currency=USD"
_E = "?currency=EUR"
_YEAR = "&from_date={year_ago}&to_date={today}"
ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(FLOOR, "/api/v1/organizations", ("",)),
    # Lago's analytics (branch h11-revenue).
    Endpoint(
        "analytics/gross_revenue",
        "/api/v1/analytics/gross_revenue",
        (_C, _E + "&months=12", "?external_customer_id=cus_{customer}"),
    ),
    Endpoint(
        "analytics/invoice_collection",
        "/api/v1/analytics/invoice_collection",
        (_C, _E + "&months=6"),
    ),
    Endpoint(
        "analytics/invoiced_usage", "/api/v1/analytics/invoiced_usage", (_C, _E + "&months=12")
    ),
    Endpoint("analytics/mrr", "/api/v1/analytics/mrr", (_C, _E + "&months=12")),
    Endpoint(
        "analytics/overdue_balance",
        "/api/v1/analytics/overdue_balance",
        (_C, _E + "&months=12", "?external_customer_id=cus_{customer}"),
    ),
    Endpoint(
        "analytics/usage",
        "/api/v1/analytics/usage",
        (
            _C + "&time_granularity=monthly&from_date={year_ago}&to_date={today}",
            _C + "&time_granularity=daily&from_date={month_ago}&to_date={today}",
            _E + "&billable_metric_code=api_calls&plan_code=pro_eur",
        ),
    ),
    # Dashboard figures from invoices (branch h11-revenue).
    Endpoint("dashboard/revenue", "/api/v1/dashboard/revenue", ("", _C + _YEAR, _E)),
    Endpoint(
        "dashboard/revenue/daily",
        "/api/v1/dashboard/revenue/daily",
        (_C, _E + "&from_date={month_ago}&to_date={today}"),
    ),
    Endpoint("dashboard/revenue/by_plan", "/api/v1/dashboard/revenue/by_plan", (_C, _E + _YEAR)),
    # Calendar periods, as a dashboard asks: per-customer period rollups, top-N index scans.
    Endpoint(
        "dashboard/top_customers",
        "/api/v1/dashboard/top_customers",
        ("", _C + "&period=quarter", _E + "&period=year&limit=25", _C + "&period=all_time"),
    ),
    # A sliding window (not a calendar period) sums every customer's months: known slow.
    Endpoint(
        "dashboard/top_customers (30-day range)",
        "/api/v1/dashboard/top_customers",
        (_C + "&from_date={month_ago}&to_date={today}",),
    ),
    Endpoint("dashboard/overdue", "/api/v1/dashboard/overdue", ("", _C, _E)),
    # MRR, churn and retention (branch h11-mrr).
    *(
        Endpoint(f"dashboard/{name}", f"/api/v1/dashboard/{name}", ("", _C + _YEAR, _E))
        for name in ("mrr", "mrr/movements", "churn", "retention", "arpa", "trials")
    ),
    # The overview composes both (the lead's, at merge).
    Endpoint("dashboard/overview", "/api/v1/dashboard/overview", ("", _C, _E)),
)


# --- the database ------------------------------------------------------------------------------


@dataclass
class Seeded:
    url: str
    api_key: str
    organization_id: uuid.UUID
    pg_log: Path
    seed: dict[str, Any]


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@asynccontextmanager
async def database(data_dir: Path, sizes: analytics_seed.Sizes, log: Any) -> AsyncIterator[Seeded]:
    import asyncpg

    from bxb.core.db import create_engine, create_sessionmaker, transaction
    from bxb.core.embedded import EmbeddedPostgres
    from bxb.core.migrate import upgrade
    from bxb.core.organizations import create_organization
    from bxb.ledger.mrr_movements import rebuild_monthly_totals

    marker = data_dir / "bench-analytics.json"
    kept = json.loads(marker.read_text()) if marker.exists() else None
    if kept is not None and kept["sizes"] != [sizes.customers, sizes.invoices]:
        raise SystemExit(f"{data_dir} holds another size ({kept['sizes']}); pick another dir")
    postgres = EmbeddedPostgres(data_dir, ingest._free_port(), durable=True)
    await postgres.start()
    try:
        await upgrade(postgres.url)
        conn = await asyncpg.connect(_asyncpg_dsn(postgres.url))
        try:
            if kept is None:
                engine = create_engine(postgres.url, pool_size=1)
                async with transaction(create_sessionmaker(engine)) as session:
                    org, issued = await create_organization(session, "Bench analytics")
                await engine.dispose()
                organization_id, api_key = org.id, issued.plaintext
                seed = await analytics_seed.seed(conn, organization_id, sizes, log)
                kept = {
                    "sizes": [sizes.customers, sizes.invoices],
                    "organization_id": str(organization_id),
                    "api_key": api_key,
                    "seed": seed,
                }
                marker.write_text(json.dumps(kept, indent=2))
            else:
                organization_id = uuid.UUID(kept["organization_id"])
                added = await analytics_seed.seed_missing_movements(
                    conn, organization_id, sizes, log
                )
                if added:
                    kept["seed"]["rows"] |= added
                    marker.write_text(json.dumps(kept, indent=2))
        finally:
            await conn.close()
        # The MRR rollup (branch h11-mrr) from the seeded movements, as record_mrr keeps it.
        engine = create_engine(postgres.url, pool_size=1)
        async with transaction(create_sessionmaker(engine)) as session:
            await rebuild_monthly_totals(session, organization_id)
        await engine.dispose()
        yield Seeded(
            postgres.url,
            kept["api_key"],
            organization_id,
            data_dir / "logs" / "postgres.log",
            kept["seed"],
        )
    finally:
        postgres.stop()


async def set_auto_explain(url: str, min_ms: float | None) -> None:
    """auto_explain for new connections of the bxb database (None: off)."""
    import asyncpg

    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        if min_ms is None:
            await conn.execute("ALTER DATABASE bxb RESET session_preload_libraries")
            return
        await conn.execute("ALTER DATABASE bxb SET session_preload_libraries = 'auto_explain'")
        for key, value in (
            ("log_min_duration", f"{int(min_ms)}ms"),
            ("log_analyze", "on"),
            ("log_buffers", "on"),
            ("log_nested_statements", "on"),
        ):
            await conn.execute(f"ALTER DATABASE bxb SET auto_explain.{key} = '{value}'")
    finally:
        await conn.close()


# --- the load ----------------------------------------------------------------------------------


class GetConnection(ingest.Connection):
    @classmethod
    async def connect(cls, url: str) -> GetConnection:
        opened = await ingest.Connection.open(url)
        return cls(opened.reader, opened.writer)

    async def get(self, head: bytes) -> tuple[int, bytes]:
        self.writer.write(head)
        status_and_headers = await self.reader.readuntil(b"\r\n\r\n")
        status = int(status_and_headers[9:12])
        length = 0
        for line in status_and_headers.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return status, await self.reader.readexactly(length)


def _fill(query: str, rng: random.Random, customers: int) -> str:
    today = date.today()
    return query.format(
        customer=rng.randint(1, customers),
        today=today.isoformat(),
        month_ago=(today - timedelta(days=30)).isoformat(),
        year_ago=(today - timedelta(days=365)).isoformat(),
    )


def _percentile(sorted_ms: list[float], p: float) -> float:
    return ingest.nearest_rank(sorted_ms, p)


async def measure(
    url: str,
    api_key: str,
    endpoint: Endpoint,
    requests: int,
    warmup: int,
    customers: int,
) -> dict[str, Any]:
    connection = await GetConnection.connect(url)
    rng = random.Random(endpoint.name)
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    first_error = ""
    deadline = time.perf_counter() + MAX_SECONDS_PER_ENDPOINT
    try:
        for i in range(warmup + requests):
            if time.perf_counter() > deadline:
                break
            query = _fill(endpoint.queries[i % len(endpoint.queries)], rng, customers)
            head = (
                f"GET {endpoint.path}{query} HTTP/1.1\r\nHost: bench\r\n"
                f"Authorization: Bearer {api_key}\r\n\r\n"
            ).encode()
            started = time.perf_counter()
            status, body = await connection.get(head)
            elapsed = (time.perf_counter() - started) * 1000
            if i < warmup:
                continue
            statuses[status] += 1
            if status == 200:
                latencies.append(elapsed)
            elif not first_error:
                first_error = f"{endpoint.path}{query} -> {status} {body[:300].decode()}"
    finally:
        connection.close()
    latencies.sort()
    result: dict[str, Any] = {
        "requests": len(latencies),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "p50_ms": _percentile(latencies, 0.50),
        "p95_ms": _percentile(latencies, 0.95),
        "p99_ms": _percentile(latencies, 0.99),
        "max_ms": round(latencies[-1], 2) if latencies else 0.0,
    }
    if first_error:
        result["first_error"] = first_error
    return result


async def routed_paths(url: str) -> set[str]:
    connection = await GetConnection.connect(url)
    try:
        status, body = await connection.get(b"GET /openapi.json HTTP/1.1\r\nHost: bench\r\n\r\n")
    finally:
        connection.close()
    if status != 200:
        raise RuntimeError(f"/openapi.json answered {status}")
    return set(json.loads(body)["paths"])


# --- EXPLAIN of the slow ones ------------------------------------------------------------------

_PLAN = re.compile(r"duration: ([0-9.]+) ms\s+plan:\n(.*?)(?=\n\S|\Z)", re.DOTALL)


def statement_plans(log_text: str, requests: int, limit: int = 3) -> dict[str, Any]:
    """What auto_explain logged for `requests` requests: the statements per request, their
    time in PostgreSQL per request, and the plans of the slowest."""
    found = sorted(
        ((float(m.group(1)), m.group(2)[:6000]) for m in _PLAN.finditer(log_text)), reverse=True
    )
    return {
        "statements_per_request": round(len(found) / max(requests, 1), 1),
        "database_ms_per_request": round(sum(ms for ms, _ in found) / max(requests, 1), 2),
        "slowest": [{"duration_ms": ms, "plan": plan} for ms, plan in found[:limit]],
    }


async def explain_slow(
    db: Seeded, env: dict[str, str], server_log: Path, slow: list[Endpoint], customers: int
) -> dict[str, dict[str, Any]]:
    """Each slow endpoint once per filter with auto_explain logging every statement
    (EXPLAIN ANALYZE): how much of its time is spent in PostgreSQL, and on what."""
    await set_auto_explain(db.url, 0)
    plans: dict[str, dict[str, Any]] = {}
    try:
        with ingest.server("bxb_app", 1, env, server_log) as url:
            for endpoint in slow:
                requests = len(endpoint.queries)
                await measure(url, db.api_key, endpoint, 0, requests, customers)  # warm
                offset = db.pg_log.stat().st_size
                await measure(url, db.api_key, endpoint, requests, 0, customers)
                await asyncio.sleep(0.5)  # the log is written by another process
                with db.pg_log.open("rb") as file:
                    file.seek(offset)
                    text = file.read().decode(errors="replace")
                plans[endpoint.name] = statement_plans(text, requests)
    finally:
        await set_auto_explain(db.url, None)
    return plans


# --- the run -----------------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> dict[str, Any]:
    sizes = analytics_seed.Sizes(args.customers, args.invoices)
    scratch = Path(tempfile.mkdtemp(prefix="bxb-bench-analytics-"))
    data_dir = Path(args.data_dir) if args.data_dir else scratch
    data_dir.mkdir(parents=True, exist_ok=True)
    server_log = scratch / "servers.log"

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        async with database(data_dir, sizes, say) as db:
            env = {
                "DATABASE_URL": db.url,
                "TEMPORAL_ADDRESS": f"127.0.0.1:{ingest._free_port()}",
                "BXB_LOG_LEVEL": "INFO",
            }
            results: dict[str, Any] = {}
            with ingest.server("bxb_app", 1, env, server_log) as url:
                routed = await routed_paths(url)
                for endpoint in ENDPOINTS:
                    if endpoint.path not in routed:
                        results[endpoint.name] = {"missing": True}
                        say(f"{endpoint.name:<32} missing")
                        continue
                    result = await measure(
                        url, db.api_key, endpoint, args.requests, args.warmup, sizes.customers
                    )
                    results[endpoint.name] = result
                    say(f"{endpoint.name:<32} {json.dumps(result)}")
            slow = [
                e
                for e in ENDPOINTS
                if e.name != FLOOR and results[e.name].get("p95_ms", 0) > args.target_ms
            ]
            explained = {}
            if slow and args.explain:
                explained = await explain_slow(db, env, server_log, slow, sizes.customers)
            seed = db.seed
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    measured = {k: v for k, v in results.items() if not v.get("missing")}
    return {
        "benchmark": "analytics",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "customers": sizes.customers,
        "invoices": sizes.invoices,
        "requests_per_endpoint": args.requests,
        "target_p95_ms": args.target_ms,
        "seed": seed,
        "results": results,
        "missing": [k for k, v in results.items() if v.get("missing")],
        "over_target": [
            k for k, v in measured.items() if k != FLOOR and v["p95_ms"] > args.target_ms
        ],
        "explain": explained,
    }


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200, help="measured per endpoint")
    parser.add_argument("--warmup", type=int, default=5, help="requests before measuring")
    parser.add_argument("--target-ms", type=float, default=TARGET_MS, help="p95 target")
    parser.add_argument(
        "--no-explain",
        dest="explain",
        action="store_false",
        help="skip the EXPLAIN pass over the endpoints above the target",
    )
    parser.add_argument("--data-dir", help="keep the seeded database here and reuse it")
    parser.add_argument(
        "--results-dir", default=str(ROOT / "bench" / "results"), help="where the JSON goes"
    )
    args = parser.parse_args()
    import uvloop

    figures = uvloop.run(main(args))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = Path(args.results_dir) / f"analytics-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures))


if __name__ == "__main__":
    run()
