"""Top customers at 100,000 customers x 13 months: p95 per calendar period and range.

    .venv/bin/python bench/top_customers.py [--customers 100000] [--requests 100]

What runs, all on loopback:

- an embedded PostgreSQL (tests' settings: not durable), migrated, one organization with
  `--customers` customers, each billed in EUR in every month from December 2025 to
  December 2026 (1 in 50 months at zero, 1 in 100 negative: a credit note larger than
  the month). The customer-month rows are written into `revenue_customer_monthly`
  directly (what the triggers of 0010a would write for one invoice per customer and
  month), one month per statement, so 0010g's trigger keeps the quarter, year and
  all-time rows as it would in production; the seed then checks those rows against the
  migration's backfill query over the same months.
- the API in process (httpx on ASGI, no uvicorn): `GET /dashboard/top_customers` with
  `period` month, quarter, year, all_time (the rollup index, LIMIT 10), a range that is
  exactly a quarter (the same fast path), and ranges that are not a calendar period (the
  summed path: 2 and 12 months); the summed path is also timed directly for 1, 3 and 12
  months (what every window cost before 0010g); a floor: `GET /organizations`.

Requests run one at a time. Prints one JSON line and writes
bench/results/top_customers-<UTC timestamp>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402  (after the path tweak above)
from sqlalchemy import text  # noqa: E402

from bxb.analytics import revenue_customers  # noqa: E402
from bxb.api.app import create_app  # noqa: E402
from bxb.core.db import create_engine, create_sessionmaker, transaction  # noqa: E402
from bxb.core.embedded import EmbeddedPostgres  # noqa: E402
from bxb.core.migrate import upgrade  # noqa: E402
from bxb.core.organizations import create_organization  # noqa: E402
from bxb.core.settings import Settings  # noqa: E402
from tests.support.ports import free_port  # noqa: E402

MIGRATION = ROOT / "bxb" / "migrations" / "versions" / "0010g_revenue_customer_periods.py"
MONTHS = 13
ANCHOR = "2026-05-15"


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return round(ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000, 1)


async def seed(url: str, customers: int) -> tuple[Any, str, dict[str, float]]:
    engine = create_engine(url, pool_size=2)
    sessions = create_sessionmaker(engine)
    async with transaction(sessions) as session:
        org, issued = await create_organization(session, "Bench")
    timings: dict[str, float] = {}
    started = time.perf_counter()
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO customers (id, organization_id, external_id, sequential_id, name, "
                "currency, metadata, sync_with_provider, created_at, updated_at) "
                "SELECT gen_random_uuid(), :org, 'cus_' || n, n, 'Customer ' || n, 'EUR', "
                "'[]', false, now(), now() FROM generate_series(1, :count) AS n"
            ),
            {"org": org.id, "count": customers},
        )
    timings["customers_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    for index in range(MONTHS):
        month = date(2025 + (11 + index) // 12, (11 + index) % 12 + 1, 1)
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO revenue_customer_monthly "
                    "(organization_id, currency, month, customer_id, amount_cents) "
                    "SELECT c.organization_id, 'EUR', :month, c.id, CASE "
                    "WHEN c.sequential_id % 50 = :index THEN 0 "
                    "WHEN c.sequential_id % 100 = :index + 7 THEN -5000 "
                    "ELSE ((c.sequential_id * 7919 + :index * 104729) % 1000000) / 7.0 END "
                    "FROM customers c WHERE c.organization_id = :org"
                ),
                {"org": org.id, "month": month, "index": index},
            )
    timings["months_through_trigger_s"] = round(time.perf_counter() - started, 1)
    async with engine.begin() as conn:
        spec = importlib.util.spec_from_file_location("migration_0010g", MIGRATION)
        assert spec is not None
        assert spec.loader is not None
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        backfill = migration.BACKFILL.replace(
            "INSERT INTO revenue_customer_periods", "INSERT INTO backfilled"
        )
        await conn.execute(
            text("CREATE TEMP TABLE backfilled (LIKE revenue_customer_periods) ON COMMIT DROP")
        )
        await conn.execute(text(backfill))
        differences = await conn.scalar(
            text(
                "SELECT count(*) FROM ((SELECT * FROM backfilled EXCEPT "
                "SELECT * FROM revenue_customer_periods) UNION ALL "
                "(SELECT * FROM revenue_customer_periods EXCEPT SELECT * FROM backfilled)) d"
            )
        )
        rows = await conn.scalar(text("SELECT count(*) FROM revenue_customer_periods"))
    assert differences == 0, f"trigger and backfill differ on {differences} rows"
    # What autovacuum would do after such a load, done now so it does not run mid-measure.
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE"))
    timings["period_rows"] = float(rows or 0)
    await engine.dispose()
    return org.id, issued.plaintext, timings


async def measure(
    settings: Settings, org_id: Any, api_key: str, requests: int
) -> dict[str, float | str]:
    app = create_app(settings)
    results: dict[str, float | str] = {}
    headers = {"Authorization": f"Bearer {api_key}"}
    route = "/api/v1/dashboard/top_customers"
    q2 = {"from_date": "2026-04-01", "to_date": "2026-06-30"}
    cases: list[tuple[str, str, dict[str, str]]] = [
        ("floor GET /organizations", "/api/v1/organizations", {}),
        ("period=month", route, {"period": "month", "date": ANCHOR}),
        ("period=quarter", route, {"period": "quarter", "date": ANCHOR}),
        ("period=year", route, {"period": "year", "date": ANCHOR}),
        ("period=all_time", route, {"period": "all_time"}),
        ("from/to = Q2 2026 (fast path)", route, q2),
        ("from/to 2 months (summed)", route, {"from_date": "2026-05-01", "to_date": "2026-06-30"}),
        ("from/to 12 months (summed)", route, {"from_date": "2025-12-01", "to_date": "2026-11-30"}),
    ]  # fmt: skip
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bxb.test") as client:
            for (name, path, params), round_ in [(c, r) for r in (1, 2) for c in cases]:
                name = f"{name} [pass {round_}]"
                params = {**params, "currency": "EUR"} if path == route else params
                samples = []
                for _ in range(requests + 5):
                    started = time.perf_counter()
                    response = await client.get(path, params=params, headers=headers)
                    samples.append(time.perf_counter() - started)
                    assert response.status_code == 200, response.text
                results[name] = p95(samples[5:])
    assert settings.database_url is not None
    engine = create_engine(settings.database_url, pool_size=1)
    sessions = create_sessionmaker(engine)
    for months, first, last in (
        (1, date(2026, 5, 1), date(2026, 5, 1)),
        (3, date(2026, 4, 1), date(2026, 6, 1)),
        (12, date(2026, 1, 1), date(2026, 12, 1)),
    ):
        samples = []
        for _ in range(min(requests, 30) + 2):
            async with sessions() as session, session.begin():
                started = time.perf_counter()
                await revenue_customers.top_customers_summed(
                    session, org_id, "EUR", first, last, 10
                )
                samples.append(time.perf_counter() - started)
        results[f"summed path, {months} month(s), called directly"] = p95(samples[2:])
    async with sessions() as session:
        periods = "revenue_customer_periods"
        for name, table, where in (
            ("month", "revenue_customer_monthly", "month = '2026-05-01'"),
            ("quarter", periods, "granularity = 'quarter' AND period = '2026-04-01'"),
            ("all_time", periods, "granularity = 'all_time' AND period = '1970-01-01'"),
        ):
            query = (
                f"EXPLAIN SELECT customer_id, amount_cents FROM {table} "
                f"WHERE organization_id = '{org_id}' AND currency = 'EUR' AND {where} "
                "AND amount_cents <> 0 ORDER BY amount_cents DESC, customer_id LIMIT 10"
            )
            rows = (await session.execute(text(query))).all()
            results[f"plan {name}"] = " / ".join(
                line.strip() for (line,) in rows if "Scan" in line or "Limit" in line
            )
        summed = (
            "EXPLAIN SELECT customer_id, sum(amount_cents) FROM revenue_customer_monthly "
            f"WHERE organization_id = '{org_id}' AND currency = 'EUR' AND month >= '2026-05-01' "
            "AND month <= '2026-06-01' AND amount_cents <> 0 GROUP BY customer_id "
            "HAVING sum(amount_cents) <> 0 ORDER BY 2 DESC, customer_id LIMIT 10"
        )
        rows = (await session.execute(text(summed))).all()
        results["plan summed 2 months"] = " / ".join(
            line.strip() for (line,) in rows if "Scan" in line or "Aggregate" in line
        )
    await engine.dispose()
    return results


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        postgres = EmbeddedPostgres(Path(directory), free_port(), durable=False)
        await postgres.start()
        try:
            await upgrade(postgres.url)
            org_id, api_key, seeding = await seed(postgres.url, args.customers)
            settings = Settings(
                data_dir=Path(directory),
                database_url=postgres.url,
                temporal_address=f"127.0.0.1:{free_port()}",
                bootstrap_api_key=None,
            )
            p95s = await measure(settings, org_id, api_key, args.requests)
        finally:
            postgres.stop()
    figures = {
        "customers": args.customers,
        "months": MONTHS,
        "requests": args.requests,
        "seeding": seeding,
        "p95_ms": p95s,
    }
    line = json.dumps(figures)
    print(line)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (ROOT / "bench" / "results" / f"top_customers-{stamp}.json").write_text(line + "\n")


if __name__ == "__main__":
    asyncio.run(main())
