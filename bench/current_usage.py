"""Current usage of one subscription with a million events in its period, over HTTP.

    .venv/bin/python bench/current_usage.py [--events 1000000] [--requests 300] [--quick]

What runs, all on loopback: an embedded PostgreSQL with `bxb up`'s durable settings
(bench/ingest.py's), the Temporal dev server and a bxb worker (bench/usage_reactions.py's),
and the API as `bxb api` serves it (one process). Through the API: billable metrics
`storage` (sum_agg of `gb`), `calls` (count_agg) and `peak` (max_agg of `gb`), a plan
charging each (standard), a customer and one subscription whose period started at the
first instant of this month (UTC). Then EVENTS events of that subscription, spread over the
period so far, are written through the PostgreSQL store's own batch statement (what
ingestion stores, triggers included) in batches of 10,000; the expected units and amounts
are computed while seeding.

Then, one request at a time, `GET /api/v1/customers/{id}/current_usage` REQUESTS times
(bounded by --seconds), next to the floor of the same run (`GET /api/v1/organizations`,
authenticated, one query): p50 / p95 / p99. Every answer's units and amounts are checked
against the expected ones (the run fails on any difference). It prints one JSON line and
writes bench/results/current_usage-<UTC timestamp>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))  # sibling scripts import as top-level modules

import httpx  # noqa: E402  (after the path tweak above)
from ingest import Database, database, nearest_rank, server  # noqa: E402
from usage_reactions import temporal, worker  # noqa: E402

BATCH = 10_000
SUBSCRIPTION = "sub-usage"
CUSTOMER = "cus-usage"
# code -> (aggregation type, field, price per unit in dollars)
METRICS = {
    "storage": ("sum_agg", "gb", "0.001"),
    "calls": ("count_agg", None, "0.0001"),
    "peak": ("max_agg", "gb", "2"),
}
SHARES = (("storage", 6), ("calls", 3), ("peak", 1))


def _percentile(sorted_ms: list[float], p: float) -> float:
    return nearest_rank(sorted_ms, p)


def _figures(latencies: list[float]) -> dict[str, Any]:
    ms = sorted(x * 1000 for x in latencies)
    return {
        "requests": len(ms),
        "p50_ms": _percentile(ms, 0.50),
        "p95_ms": _percentile(ms, 0.95),
        "p99_ms": _percentile(ms, 0.99),
        "max_ms": round(ms[-1], 2) if ms else 0.0,
    }


async def set_up(http: httpx.AsyncClient, period_start: datetime) -> None:
    async def ok(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await http.post(path, json=body)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    for code, (aggregation, field, _) in METRICS.items():
        if code == "storage":  # created by ingest.database()
            continue
        metric: dict[str, str] = {"name": code, "code": code, "aggregation_type": aggregation}
        if field:
            metric["field_name"] = field
        await ok("/api/v1/billable_metrics", {"billable_metric": metric})
    listed = (await http.get("/api/v1/billable_metrics")).json()["billable_metrics"]
    ids = {m["code"]: m["lago_id"] for m in listed}
    charges = [
        {
            "billable_metric_id": ids[code],
            "charge_model": "standard",
            "properties": {"amount": price},
        }
        for code, (_, _, price) in METRICS.items()
    ]
    plan = {
        "name": "Usage",
        "code": "usage",
        "interval": "monthly",
        "amount_cents": 0,
        "amount_currency": "USD",
        "charges": charges,
    }
    await ok("/api/v1/plans", {"plan": plan})
    await ok("/api/v1/customers", {"customer": {"external_id": CUSTOMER, "name": "U"}})
    subscription = {
        "external_customer_id": CUSTOMER,
        "plan_code": "usage",
        "external_id": SUBSCRIPTION,
        "subscription_at": period_start.isoformat(),
        "billing_time": "calendar",
    }
    await ok("/api/v1/subscriptions", {"subscription": subscription})


async def seed(db: Database, n: int, start: datetime, end: datetime) -> dict[str, Any]:
    """n events of the subscription in [start, end), through the store's batch insert;
    the expected units per code (sum, count, max as the pure core reads them)."""
    from bxb.core.db import create_engine
    from bxb.events.postgres_store import PostgresEventStore
    from bxb.events.store import NewEvent

    rng = random.Random(14)
    engine = create_engine(db.url, pool_size=1)
    store = PostgresEventStore(engine)
    async with engine.connect() as conn:
        raw: Any = (await conn.get_raw_connection()).driver_connection
        org = await raw.fetchval("SELECT id FROM organizations")
    span = int((end - start).total_seconds() * 1_000_000)
    codes = [code for code, share in SHARES for _ in range(share)]
    units = {"storage": Decimal(0), "calls": Decimal(0), "peak": Decimal(0)}
    began = time.perf_counter()
    try:
        for first in range(0, n, BATCH):
            batch = []
            for i in range(first, min(n, first + BATCH)):
                code = codes[i % len(codes)]
                gb = rng.randint(1, 100_000) / 100  # a JSON number with two decimals
                at = start + timedelta(microseconds=rng.randrange(span))
                batch.append(NewEvent(org, f"u-{i}", SUBSCRIPTION, code, at, {"gb": gb}))
                value = Decimal(str(gb))
                if code == "storage":
                    units["storage"] += value
                elif code == "calls":
                    units["calls"] += 1
                else:
                    units["peak"] = max(units["peak"], value)
            await store.insert_many(batch)
        seconds = time.perf_counter() - began
        # Repeats of stored events with other values: idempotent, they must not count.
        repeats = [
            NewEvent(org, f"u-{i}", SUBSCRIPTION, "storage", start, {"gb": 99})
            for i in range(0, n, max(1, n // 100))
        ]
        assert (await store.insert_many(repeats)).inserted == 0
        async with engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            await raw.execute("VACUUM ANALYZE events")
            rollup_rows = 0  # none before the rollup existed (the "before" run)
            if await raw.fetchval("SELECT to_regclass('event_rollups') IS NOT NULL"):
                rollup_rows = await raw.fetchval("SELECT count(*) FROM event_rollups")
                await raw.execute("VACUUM ANALYZE event_rollups")
    finally:
        await store.close()
        await engine.dispose()
    return {
        "events": n,
        "seconds": round(seconds, 1),
        "events_per_second": round(n / seconds) if seconds else 0,
        "rollup_rows": int(rollup_rows),
        "units": {code: str(value) for code, value in units.items()},
    }


def expected_amounts(units: dict[str, str]) -> dict[str, int]:
    from bxb.billing.charges import charge_from_properties

    return {
        code: charge_from_properties("standard", {"amount": price})
        .compute(Decimal(units[code]), "USD")
        .amount_cents
        for code, (_, _, price) in METRICS.items()
    }


def check(body: dict[str, Any], units: dict[str, str], amounts: dict[str, int]) -> None:
    usage = body["customer_usage"]
    got = {c["billable_metric"]["code"]: c for c in usage["charges_usage"]}
    for code in METRICS:
        assert Decimal(got[code]["units"]) == Decimal(units[code]), (code, got[code], units)
        assert got[code]["amount_cents"] == amounts[code], (code, got[code], amounts)
    assert usage["amount_cents"] == sum(amounts.values())


async def timed(
    http: httpx.AsyncClient, path: str, n: int, seconds: float, verify: Any = None
) -> list[float]:
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    while len(latencies) < n and time.monotonic() < deadline:
        began = time.perf_counter()
        response = await http.get(path)
        latencies.append(time.perf_counter() - began)
        assert response.status_code == 200, response.text
        if verify is not None:
            verify(response.json())
    return latencies


async def workflow_queries(client: Any, db: Database, n: int, seconds: float) -> list[float]:
    """The subscription's workflow queried straight from here, as the API queries it: the
    share of a current-usage request that is Temporal's (server and worker)."""
    import asyncpg

    from bxb.workflows.subscription import SubscriptionWorkflow

    conn = await asyncpg.connect(db.url.replace("postgresql+asyncpg", "postgresql"))
    try:
        workflow_id = await conn.fetchval(
            "SELECT workflow_id FROM subscriptions WHERE external_id = $1", SUBSCRIPTION
        )
    finally:
        await conn.close()
    handle = client.get_workflow_handle(workflow_id)
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    while len(latencies) < n and time.monotonic() < deadline:
        began = time.perf_counter()
        await handle.query(SubscriptionWorkflow.view)
        latencies.append(time.perf_counter() - began)
    return latencies


async def ready(http: httpx.AsyncClient, path: str) -> None:
    """The subscription's workflow answers (its worker polls within a few seconds)."""
    deadline = time.monotonic() + 120
    while True:
        response = await http.get(path)
        if response.status_code == 200:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"current usage never answered: {response.text}")
        await asyncio.sleep(0.5)


async def insert_cost(db: Database, batches: int, rounds: int = 3) -> dict[str, Any]:
    """Batch inserts through the store, with the rollup trigger on and off (alternating, so
    that the machine's load drifts alike over both): 4 concurrent writers, batches of 100
    events of 50 subscriptions, either the same 50 for every writer (all batches share their
    rollup rows, as in bench/ingest.py) or 50 of each writer's own. Events/s per setting.
    Off means ALTER TABLE ... DISABLE TRIGGER: the events of this phase are then not rolled
    up (they belong to subscriptions nothing reads)."""
    from bxb.core.db import create_engine
    from bxb.events.postgres_store import PostgresEventStore
    from bxb.events.store import NewEvent

    engine = create_engine(db.url, pool_size=1)
    store = PostgresEventStore(engine)
    async with engine.connect() as conn:
        raw: Any = (await conn.get_raw_connection()).driver_connection
        org = await raw.fetchval("SELECT id FROM organizations")
        has_trigger = await raw.fetchval("SELECT to_regclass('event_rollups') IS NOT NULL")
    at = datetime.now(UTC) - timedelta(minutes=30)
    figures: dict[str, list[float]] = {}
    serial = 0

    async def writer(n: int, shared: bool) -> None:
        nonlocal serial
        for _ in range(batches):
            serial += 1
            batch = [
                NewEvent(
                    org,
                    f"ins-{serial}-{i}",
                    f"ins-sub-{i % 50}" if shared else f"ins-sub-{n}-{i % 50}",
                    "storage",
                    at + timedelta(seconds=i),
                    {"gb": (i % 7) + 0.5},
                )
                for i in range(100)
            ]
            await store.insert_many(batch)

    try:
        for _ in range(rounds):
            for trigger in ("on", "off") if has_trigger else ("off",):
                async with engine.connect() as conn:
                    raw = (await conn.get_raw_connection()).driver_connection
                    state = "ENABLE" if trigger == "on" else "DISABLE"
                    if has_trigger:
                        await raw.execute(f"ALTER TABLE events {state} TRIGGER event_rollups")
                for shared in (True, False):
                    began = time.perf_counter()
                    await asyncio.gather(*(writer(n, shared) for n in range(4)))
                    rate = 4 * batches * 100 / (time.perf_counter() - began)
                    name = f"trigger {trigger}, {'same' if shared else 'own'} subscriptions"
                    figures.setdefault(name, []).append(rate)
        if has_trigger:
            async with engine.connect() as conn:
                raw = (await conn.get_raw_connection()).driver_connection
                await raw.execute("ALTER TABLE events ENABLE TRIGGER event_rollups")
    finally:
        await store.close()
        await engine.dispose()
    return {
        name: {"events_per_second_median": round(sorted(rates)[len(rates) // 2])}
        | {"runs": [round(r) for r in rates]}
        for name, rates in figures.items()
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    now = datetime.now(UTC).replace(microsecond=0)
    period_start = now.replace(day=1, hour=0, minute=0, second=0)
    if now - period_start < timedelta(hours=6):  # too little period so far: the last month
        period_start = (period_start - timedelta(days=1)).replace(day=1)
    data = Path(tempfile.mkdtemp(prefix="usage-bench-", dir=args.data_parent))
    log = data / "servers.log"
    async with database(data) as db, temporal() as client:
        stack = {
            "DATABASE_URL": db.url,
            "TEMPORAL_ADDRESS": client.service_client.config.target_host,
            "TEMPORAL_TASK_QUEUE": "bench-usage",
        }
        with (
            worker(stack, log, ROOT),
            server(
                "bxb_app",
                1,
                stack,
                log,
                start_timeout_s=300,  # minutes to start on a busy machine
            ) as url,
        ):
            headers = {"Authorization": f"Bearer {db.api_key}"}
            async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120) as http:
                await set_up(http, period_start)
                seeded = await seed(db, args.events, period_start, now - timedelta(minutes=1))
                amounts = expected_amounts(seeded["units"])
                path = (
                    f"/api/v1/customers/{CUSTOMER}/current_usage"
                    f"?external_subscription_id={SUBSCRIPTION}"
                )
                await ready(http, path)
                floor_path = "/api/v1/organizations"
                await timed(http, floor_path, args.warmup, 30)
                await timed(http, path, args.warmup, 60)
                floor = await timed(http, floor_path, args.requests, args.seconds)

                def verify(body: dict[str, Any]) -> None:
                    check(body, seeded["units"], amounts)

                usage = await timed(http, path, args.requests, args.seconds, verify)
                query = await workflow_queries(client, db, args.requests, args.seconds)
            inserts: dict[str, Any] = {}
            if args.insert_batches:
                try:
                    inserts = await insert_cost(db, args.insert_batches)
                except Exception as exc:  # the usage figures are kept; the error is shown
                    inserts = {"error": repr(exc)}
    figures = {
        "benchmark": "current_usage",
        "at": datetime.now(UTC).isoformat(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "period_start": period_start.isoformat(),
        "seed": seeded,
        "amount_cents": amounts,
        "results": {
            "floor": _figures(floor),
            "current_usage": _figures(usage),
            "workflow_query_alone": _figures(query),
        },
        "insert_cost": inserts,
    }
    if not args.keep:
        import shutil

        shutil.rmtree(data, ignore_errors=True)
    return figures


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300, help="per endpoint")
    parser.add_argument("--seconds", type=float, default=60.0, help="bound per endpoint")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument(
        "--insert-batches", type=int, default=25, help="per writer and setting (0: skip)"
    )
    parser.add_argument("--quick", action="store_true", help="100,000 events, 100 requests")
    parser.add_argument("--results-dir", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--data-parent", default=None, help="where the temporary data goes")
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    args = parser.parse_args()
    if args.quick:
        args.events, args.requests = 100_000, 100
    figures = asyncio.run(main(args))
    line = json.dumps(figures)
    print(line)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    args.results_dir.mkdir(parents=True, exist_ok=True)
    (args.results_dir / f"current_usage-{stamp}.json").write_text(line + "\n")


if __name__ == "__main__":
    run()
