"""Global search over HTTP on a large organization: p50/p95/p99 per kind of query.

    .venv/bin/python bench/search.py [--customers 100000] [--requests 200] [--data-dir DIR]

What runs, all on loopback:

- an embedded PostgreSQL with the settings `bxb up` uses, migrated, with the organization
  that bench/search_seed.py writes (customers, subscriptions, invoices, payments, credit
  notes, plans) and a second, smaller one with the same names, so that every index holds
  another organization's rows too;
- the API as `bxb api` serves it (uvicorn, one process, JSON logs at INFO);
- per kind of query (a name fragment, a full name, an email, an exact customer id, an
  exact invoice number, a payment id, a credit note number, a 2-letter prefix, a miss),
  `GET /api/v1/search?q=...` over all six types, one request at a time on a kept-alive
  connection; values are sampled from the seeded rows;
- the floor: a trivial authenticated GET (`/api/v1/organizations`) in the same run;
- EXPLAIN of each type's statement for a fragment and a prefix: the index it uses.

It fails (exit 1) when a kind's p95 reaches --target-ms (50). It prints one JSON line and
writes bench/results/search-<UTC timestamp>.json. With --data-dir the seeded database is
kept there and reused by later runs of the same size.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))  # sibling scripts import as top-level modules

import analytics  # noqa: E402  (after the path tweak above)
import ingest  # noqa: E402
import search_seed  # noqa: E402

TARGET_MS = 50.0
FLOOR = "floor"
OTHER_ORGANIZATION_CUSTOMERS = 0.1  # the second organization's size, as a share


@dataclass
class Seeded:
    url: str
    api_key: str
    organization_id: uuid.UUID
    seed: dict[str, Any]


@asynccontextmanager
async def database(data_dir: Path, customers: int, log: Any) -> AsyncIterator[Seeded]:
    import asyncpg

    from bxb.core.db import create_engine, create_sessionmaker, transaction
    from bxb.core.embedded import EmbeddedPostgres
    from bxb.core.migrate import upgrade
    from bxb.core.organizations import create_organization

    marker = data_dir / "bench-search.json"
    kept = json.loads(marker.read_text()) if marker.exists() else None
    if kept is not None and kept["customers"] != customers:
        raise SystemExit(f"{data_dir} holds another size ({kept['customers']}); pick another")
    postgres = EmbeddedPostgres(data_dir, ingest._free_port(), durable=True)
    await postgres.start()
    try:
        await upgrade(postgres.url)
        if kept is None:
            engine = create_engine(postgres.url, pool_size=1)
            async with transaction(create_sessionmaker(engine)) as session:
                org, issued = await create_organization(session, "Bench search")
                other, _ = await create_organization(session, "Bench search, another")
            await engine.dispose()
            conn = await asyncpg.connect(analytics._asyncpg_dsn(postgres.url))
            try:
                seed = await search_seed.seed(conn, org.id, customers, progress=log)
                seed["other_organization"] = await search_seed.seed(
                    conn, other.id, max(1, int(customers * OTHER_ORGANIZATION_CUSTOMERS))
                )
            finally:
                await conn.close()
            kept = {
                "customers": customers,
                "organization_id": str(org.id),
                "api_key": issued.plaintext,
                "seed": seed,
            }
            marker.write_text(json.dumps(kept, indent=2))
        yield Seeded(
            postgres.url, kept["api_key"], uuid.UUID(kept["organization_id"]), kept["seed"]
        )
    finally:
        postgres.stop()


async def samples(url: str, organization_id: uuid.UUID) -> dict[str, list[str]]:
    """Queries of each kind, from the seeded rows (a fixed random sample)."""
    import asyncpg

    conn = await asyncpg.connect(analytics._asyncpg_dsn(url))
    try:

        async def column(sql: str) -> list[str]:
            await conn.execute("SELECT setseed(0.42)")
            return [r[0] for r in await conn.fetch(sql, organization_id)]

        def sample(table: str, expr: str, where: str = "TRUE") -> str:
            return (
                f"SELECT {expr} FROM {table} WHERE organization_id = $1 AND {where}"
                " ORDER BY random() LIMIT 40"
            )

        customers = "customers"
        return {
            FLOOR: [""],
            "name fragment": [s[:4] for s in search_seed.LAST] + ["labs", "anal", "partn"],
            "full name": await column(sample(customers, "firstname || ' ' || lastname")),
            "email": await column(sample(customers, "email")),
            "customer id": await column(sample(customers, "external_id")),
            "invoice number": await column(sample("invoices", "number")),
            "payment id": await column(
                sample("payments", "provider_payment_id", "reference IS NULL")
            ),
            "credit note number": await column(sample("credit_notes", "number")),
            "2-letter prefix": ["sm", "ga", "du", "le", "wi", "mo", "ro", "ha", "ca", "be"],
            "miss": ["zzqx", "qwertyuiop", "nobody-here", "xq9z", "0000000000"],
        }
    finally:
        await conn.close()


def _path(kind: str, query: str) -> str:
    if kind == FLOOR:
        return "/api/v1/organizations"
    return "/api/v1/search?" + urllib.parse.urlencode({"q": query})


async def measure(
    url: str, api_key: str, kind: str, queries: list[str], requests: int, warmup: int
) -> dict[str, Any]:
    connection = await analytics.GetConnection.connect(url)
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    hits: list[int] = []
    first_error = ""
    try:
        for i in range(warmup + requests):
            path = _path(kind, queries[i % len(queries)] if queries else "")
            head = (
                f"GET {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {api_key}\r\n\r\n"
            ).encode()
            started = time.perf_counter()
            status, body = await connection.get(head)
            elapsed = (time.perf_counter() - started) * 1000
            if i < warmup:
                continue
            statuses[status] += 1
            if status == 200:
                latencies.append(elapsed)
                if kind != FLOOR:
                    hits.append(sum(len(v) for v in json.loads(body)["results"].values()))
            elif not first_error:
                first_error = f"{path} -> {status} {body[:300].decode()}"
    finally:
        connection.close()
    latencies.sort()
    result: dict[str, Any] = {
        "requests": len(latencies),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "p50_ms": analytics._percentile(latencies, 0.50),
        "p95_ms": analytics._percentile(latencies, 0.95),
        "p99_ms": analytics._percentile(latencies, 0.99),
        "max_ms": round(latencies[-1], 2) if latencies else 0.0,
    }
    if hits:
        result["hits_per_request"] = round(sum(hits) / len(hits), 1)
    if first_error:
        result["first_error"] = first_error
    return result


async def explain(url: str, organization_id: uuid.UUID) -> dict[str, Any]:
    """Each type's statement, for a fragment and a 2-letter prefix: its time and indexes."""
    from sqlalchemy import text

    from bxb.core.db import create_engine, create_sessionmaker
    from bxb.search.queries import CANDIDATES
    from bxb.search.queries import sql as search_sql

    engine = create_engine(url, pool_size=1)
    plans: dict[str, Any] = {}
    try:
        async with create_sessionmaker(engine)() as session:
            for query, pattern in (("smi", "%smi%"), ("sm", "% sm%")):
                params = {
                    "org": organization_id,
                    "s": query,
                    "pattern": pattern,
                    "word": f"% {query}%",
                    "cap": CANDIDATES,
                    "limit": 6,
                }
                for type_ in search_seed_types():
                    sql = search_sql((type_,))
                    rows = await session.execute(
                        text(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}"), params
                    )
                    plan = rows.scalar_one()[0]
                    plans[f"{type_} {query!r}"] = {
                        "execution_ms": round(plan["Execution Time"], 2),
                        "indexes": sorted(set(_indexes(plan["Plan"]))),
                    }
    finally:
        await engine.dispose()
    return plans


def search_seed_types() -> tuple[str, ...]:
    from bxb.search.service import TYPES

    return TYPES


def _indexes(node: dict[str, Any]) -> list[str]:
    found = [node["Index Name"]] if "Index Name" in node else []
    for child in node.get("Plans", []):
        found += _indexes(child)
    return found


async def main(args: argparse.Namespace) -> dict[str, Any]:
    scratch = Path(tempfile.mkdtemp(prefix="bxb-bench-search-"))
    data_dir = Path(args.data_dir) if args.data_dir else scratch
    data_dir.mkdir(parents=True, exist_ok=True)
    server_log = scratch / "servers.log"

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        async with database(data_dir, args.customers, say) as db:
            env = {
                "DATABASE_URL": db.url,
                "TEMPORAL_ADDRESS": f"127.0.0.1:{ingest._free_port()}",
                "BXB_LOG_LEVEL": "INFO",
            }
            kinds = await samples(db.url, db.organization_id)
            rng = random.Random(7)
            results: dict[str, Any] = {}
            with ingest.server("bxb_app", 1, env, server_log) as url:
                for kind, queries in kinds.items():
                    rng.shuffle(queries)
                    result = await measure(
                        url, db.api_key, kind, queries, args.requests, args.warmup
                    )
                    results[kind] = result
                    say(f"{kind:<20} {json.dumps(result)}")
            plans = await explain(db.url, db.organization_id)
            seed = db.seed
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    over = [k for k, v in results.items() if k != FLOOR and v["p95_ms"] >= args.target_ms]
    return {
        "benchmark": "search",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "customers": args.customers,
        "requests_per_kind": args.requests,
        "target_p95_ms": args.target_ms,
        "seed": seed,
        "results": results,
        "over_target": over,
        "errors": [k for k, v in results.items() if "first_error" in v],
        "explain": plans,
    }


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200, help="measured per kind")
    parser.add_argument("--warmup", type=int, default=5, help="requests before measuring")
    parser.add_argument("--target-ms", type=float, default=TARGET_MS, help="p95 must be below")
    parser.add_argument("--data-dir", help="keep the seeded database here and reuse it")
    parser.add_argument(
        "--results-dir", default=str(ROOT / "bench" / "results"), help="where the JSON goes"
    )
    args = parser.parse_args()
    import uvloop

    figures = uvloop.run(main(args))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = Path(args.results_dir) / f"search-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures))
    if figures["over_target"] or figures["errors"]:
        sys.exit(1)


if __name__ == "__main__":
    run()
